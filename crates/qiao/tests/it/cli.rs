//! The `qiao` binary as a user meets it: configuration errors, admin commands, the demo.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::harness::{Backend, LeakCheck, TestDb, output_text, qiao_bin, run_qiao};
use crate::store_test;

#[tokio::test]
async fn bad_configuration_names_the_key_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();

    let out = run_qiao(
        &["config", "check", "--data-dir", data_arg],
        &[("QIAO_LISTEN", "nonsense")],
        None,
    )
    .await;
    assert!(!out.status.success());
    let text = output_text(&out);
    assert!(
        text.contains("`listen`") && text.contains("nonsense"),
        "{text}"
    );

    let out = run_qiao(
        &["config", "check", "--data-dir", data_arg],
        &[("QIAO_LISTNE", "127.0.0.1:1")],
        None,
    )
    .await;
    assert!(!out.status.success());
    assert!(
        output_text(&out).contains("listne"),
        "{}",
        output_text(&out)
    );

    let out = run_qiao(
        &["config", "check", "--data-dir", data_arg],
        &[("QIAO_EXTERNAL_URL", "qiao.example.com")],
        None,
    )
    .await;
    assert!(
        output_text(&out).contains("`external_url`"),
        "{}",
        output_text(&out)
    );

    let file = dir.path().join("qiao.toml");
    std::fs::write(&file, "listen = [1, 2\n").unwrap();
    let out = run_qiao(
        &["--config", file.to_str().unwrap(), "config", "check"],
        &[],
        None,
    )
    .await;
    assert!(!out.status.success());
    assert!(
        output_text(&out).contains("qiao.toml"),
        "{}",
        output_text(&out)
    );

    let out = run_qiao(
        &["--config", "/no/such/file.toml", "config", "check"],
        &[],
        None,
    )
    .await;
    assert!(
        output_text(&out).contains("does not exist"),
        "{}",
        output_text(&out)
    );

    // Nothing above created the data directory.
    assert!(!data.exists());

    // Test-only variables are not configuration; a valid setup passes.
    let out = run_qiao(
        &["config", "check", "--data-dir", data_arg],
        &[
            ("QIAO_TEST_WHATEVER", "1"),
            ("QIAO_PUBLIC_EGRESS_IP", "203.0.113.9"),
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(output_text(&out).contains("203.0.113.9"));
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_qiao(
        &["migrate", "--data-dir", dir.path().to_str().unwrap()],
        &[(
            "QIAO_DATABASE_URL",
            "postgres://postgres:hunter2@127.0.0.1:9/qiao",
        )],
        None,
    )
    .await;
    assert!(!out.status.success());
    let text = output_text(&out);
    assert!(
        text.contains("cannot migrate postgres://postgres:***@127.0.0.1:9/qiao"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "the password leaked: {text}");
}

store_test!(
    admin_commands_keep_secrets_off_the_terminal,
    |db| async move {
        let leaks = LeakCheck::default();
        let data = db.data_dir().to_str().unwrap().to_string();
        let env = [("QIAO_DATABASE_URL", db.url.as_str())];
        let password = "correct horse battery staple";
        leaks.secret(password);

        let out = run_qiao(
            &[
                "admin",
                "--data-dir",
                &data,
                "create-user",
                "ops",
                "--role",
                "admin",
                "--password-stdin",
            ],
            &env,
            Some(&format!("{password}\n")),
        )
        .await;
        leaks.saw("create-user", output_text(&out));
        assert!(out.status.success(), "{}", output_text(&out));

        let out = run_qiao(&["admin", "--data-dir", &data, "list-users"], &env, None).await;
        assert!(String::from_utf8_lossy(&out.stdout).contains("ops"));

        let out = run_qiao(
            &[
                "admin",
                "--data-dir",
                &data,
                "create-user",
                "x",
                "--password-stdin",
            ],
            &env,
            Some("short\n"),
        )
        .await;
        assert!(!out.status.success());
        assert!(output_text(&out).contains("user name") || output_text(&out).contains("password"));

        let key_file = db.data_dir().join("erp.key");
        let out = run_qiao(
            &[
                "admin",
                "--data-dir",
                &data,
                "create-api-key",
                "--name",
                "erp",
                "--scopes",
                "read",
                "--output",
                key_file.to_str().unwrap(),
            ],
            &env,
            None,
        )
        .await;
        assert!(out.status.success(), "{}", output_text(&out));
        leaks.saw("create-api-key", output_text(&out));
        let key = std::fs::read_to_string(&key_file).unwrap();
        leaks.secret(key.clone());
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(&key_file).unwrap().permissions()
            ) & 0o777,
            0o600
        );

        let out = run_qiao(&["admin", "--data-dir", &data, "list-api-keys"], &env, None).await;
        leaks.saw("list-api-keys", output_text(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("erp"));

        let master = std::fs::read_to_string(db.data_dir().join("master.key")).unwrap();
        leaks.secret(master.clone());
        let out = run_qiao(
            &["admin", "--data-dir", &data, "rotate-master-key"],
            &env,
            None,
        )
        .await;
        leaks.saw("rotate-master-key", output_text(&out));
        assert!(out.status.success(), "{}", output_text(&out));
        let rotated = std::fs::read_to_string(db.data_dir().join("master.key")).unwrap();
        assert_ne!(master, rotated);
        leaks.secret(rotated);

        // A node started with the old key refuses, with a clear message.
        let out = run_qiao(
            &["admin", "--data-dir", &data, "list-users"],
            &[env[0], ("QIAO_MASTER_KEY", master.as_str())],
            None,
        )
        .await;
        assert!(!out.status.success());
        leaks.saw("wrong key", output_text(&out));
        assert!(
            output_text(&out).contains("does not match"),
            "{}",
            output_text(&out)
        );

        leaks.assert_clean();
    }
);

/// The leak check itself fails when a secret is printed on purpose.
#[tokio::test]
async fn leak_check_canary() {
    let leaks = LeakCheck::default();
    let dir = tempfile::tempdir().unwrap();
    let key = qiao::secrets::MasterKey::generate().to_base64();
    leaks.secret(key.clone());
    // `config check` with the key in the environment must not print it.
    let out = run_qiao(
        &[
            "config",
            "check",
            "--data-dir",
            dir.path().to_str().unwrap(),
        ],
        &[("QIAO_MASTER_KEY", key.as_str())],
        None,
    )
    .await;
    leaks.saw("config check", output_text(&out));
    leaks.assert_clean();
    // Now print the secret on purpose: the check must catch it.
    let out = tokio::process::Command::new("echo")
        .arg(&key)
        .output()
        .await
        .unwrap();
    leaks.saw("echo", output_text(&out));
    assert_eq!(
        leaks.leaks().len(),
        1,
        "the leak check missed a printed secret"
    );
}

#[tokio::test]
async fn demo_writes_credentials_to_a_private_file_only() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else {
        return;
    };
    let data = db.data_dir().join("data");
    let leaks = LeakCheck::default();
    let first = run_demo(&data, &leaks).await;
    let second = run_demo(&data, &leaks).await;
    assert_eq!(
        first["admin"]["password"], second["admin"]["password"],
        "a restart keeps working credentials"
    );
    assert_eq!(first["api_key"], second["api_key"]);
    leaks.assert_clean();
}

/// Starts `qiao demo`, checks what it printed and serves, stops it with SIGTERM, and returns
/// demo.json.
async fn run_demo(data: &std::path::Path, leaks: &LeakCheck) -> serde_json::Value {
    let mut child = tokio::process::Command::new(qiao_bin())
        .args([
            "demo",
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env_remove("QIAO_DATABASE_URL")
        .env("QIAO_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    let ready = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            printed.push_str(&line);
            printed.push('\n');
            if line.contains("Ctrl-C") {
                return;
            }
        }
        panic!("demo exited early: {printed}");
    })
    .await;
    assert!(ready.is_ok(), "demo did not start: {printed}");

    let path = data.join("demo.json");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions())
            & 0o777,
        0o600
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    leaks.secret(file["admin"]["password"].as_str().unwrap());
    leaks.secret(file["api_key"].as_str().unwrap());
    assert!(
        printed.contains(file["console_url"].as_str().unwrap()),
        "{printed}"
    );
    assert!(printed.contains("user: admin"));
    assert!(
        printed.contains(path.canonicalize().unwrap().to_str().unwrap()),
        "{printed}"
    );

    let console = file["console_url"].as_str().unwrap();
    let base = console.trim_end_matches("/console");
    let health = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(health.status(), 200);

    // A newcomer can chat at once: a text sent in the simulator to the demo's Official
    // Account and WeCom app gets the demo rule's reply, decrypted and checked by the simulator.
    let sim = &file["simulator"];
    let oa = &sim["official_accounts"][0];
    let corp = &sim["wecom_corps"][0];
    let app = format!(
        "{}/{}",
        corp["corp_id"].as_str().unwrap(),
        corp["apps"][0]["agent_id"]
    );
    for (account, user) in [
        (oa["app_id"].as_str().unwrap(), oa["fan"].as_str().unwrap()),
        (app.as_str(), "zhangsan"),
    ] {
        let pushed: serde_json::Value = reqwest::Client::new()
            .post(format!(
                "{}/sim/push/text",
                file["simulator_url"].as_str().unwrap()
            ))
            .json(&serde_json::json!({ "account": account, "user": user, "content": "你好" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let outcome = pushed.get("outcome").unwrap_or(&pushed);
        assert_eq!(outcome["status"], "replied", "{account}: {pushed}");
        assert!(
            outcome["reply"]["content"]
                .as_str()
                .is_some_and(|c| c.starts_with("您好！这里是桥")),
            "{account}: {pushed}"
        );
    }

    let pid = child.id().unwrap().to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "graceful shutdown exits 0");
    while let Some(line) = stdout.next_line().await.unwrap() {
        printed.push_str(&line);
    }
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr)
        .await
        .unwrap();
    leaks.saw("demo stdout", printed);
    leaks.saw("demo stderr", stderr);
    file
}
