//! Storage, users, API keys, settings, the audit log and sealed secrets, on both backends.

use qiao::app::open_state;
use qiao::audit::{self, Actor};
use qiao::auth::Role;
use qiao::auth::api_keys::{self, Scope};
use qiao::auth::users::{self, LoginError, MAX_FAILED_LOGINS, UserError};
use qiao::secrets::{KeySource, MasterKey, Sealer, rotate_master_key, verify_master_key};
use qiao::settings::{self, BasicSettings};
use qiao::store::{Store, TenantId, migrate};
use qiao::{on_db, on_tx};

use crate::harness::{TestDb, raw_database};
use crate::store_test;

const T: TenantId = TenantId::DEFAULT;
const NOW: i64 = 1_764_000_000_000;

async fn open(db: &TestDb) -> Store {
    Store::open(&db.url).await.expect("open store")
}

fn actor() -> Actor {
    Actor {
        name: "admin:tester".into(),
        ip: Some("127.0.0.1".into()),
        request_id: Some("req-1".into()),
    }
}

store_test!(
    migrations_are_idempotent_and_seed_the_default_tenant,
    |db| async move {
        let store = open(&db).await;
        migrate(&store).await.expect("second run is a no-op");
        let (slug,): (String,) = on_db!(&store.db, pool => {
            sqlx::query_as("SELECT slug FROM tenants WHERE id = 1").fetch_one(pool).await
        })
        .unwrap();
        assert_eq!(slug, "default");
        store.close().await;
    }
);

store_test!(users_login_lockout_and_reset, |db| async move {
    let store = open(&db).await;
    let mut tx = store.begin_write().await.unwrap();
    let id = users::create_user(
        &mut tx,
        T,
        "alice",
        "Alice",
        Role::SuperAdmin,
        "a long password",
        NOW,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin_write().await.unwrap();
    let dup = users::create_user(
        &mut tx,
        T,
        "alice",
        "A",
        Role::Admin,
        "another password",
        NOW,
    )
    .await;
    assert!(matches!(dup, Err(UserError::Exists(_))), "{dup:?}");
    drop(tx);

    let mut tx = store.begin_write().await.unwrap();
    let short = users::create_user(&mut tx, T, "bob", "Bob", Role::Admin, "short", NOW).await;
    assert!(matches!(short, Err(UserError::Password(_))));
    let bad_name = users::create_user(
        &mut tx,
        T,
        "b o b",
        "Bob",
        Role::Admin,
        "long enough pw",
        NOW,
    )
    .await;
    assert!(matches!(bad_name, Err(UserError::BadUsername)));
    drop(tx);

    let user = users::authenticate(&store, T, "alice", "a long password", NOW)
        .await
        .unwrap();
    assert_eq!(user.id, id);
    assert_eq!(user.role, Role::SuperAdmin);
    assert!(matches!(
        users::authenticate(&store, T, "nobody", "a long password", NOW).await,
        Err(LoginError::WrongCredentials)
    ));

    for _ in 0..MAX_FAILED_LOGINS {
        assert!(matches!(
            users::authenticate(&store, T, "alice", "wrong password!", NOW).await,
            Err(LoginError::WrongCredentials)
        ));
    }
    // Locked: even the right password is refused until the lock expires.
    assert!(matches!(
        users::authenticate(&store, T, "alice", "a long password", NOW + 1000).await,
        Err(LoginError::Locked)
    ));
    assert!(
        users::authenticate(
            &store,
            T,
            "alice",
            "a long password",
            NOW + users::LOCKOUT_MS + 1
        )
        .await
        .is_ok()
    );

    let mut tx = store.begin_write().await.unwrap();
    users::set_password(&mut tx, T, id, "a brand new password", NOW)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(
        users::authenticate(&store, T, "alice", "a long password", NOW)
            .await
            .is_err()
    );
    assert!(
        users::authenticate(&store, T, "alice", "a brand new password", NOW)
            .await
            .is_ok()
    );
    store.close().await;
});

store_test!(the_last_super_admin_stays, |db| async move {
    let store = open(&db).await;
    let mut tx = store.begin_write().await.unwrap();
    let id = users::create_user(
        &mut tx,
        T,
        "root",
        "Root",
        Role::SuperAdmin,
        "a long password",
        NOW,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin_write().await.unwrap();
    let demoted = users::update_access(&mut tx, T, id, Role::Auditor, false, NOW).await;
    assert!(matches!(demoted, Err(UserError::LastSuperAdmin)));
    drop(tx);
    let user = users::get_user(&store, T, id).await.unwrap().unwrap();
    assert_eq!(
        user.role,
        Role::SuperAdmin,
        "the refused change was rolled back"
    );
    store.close().await;
});

store_test!(
    api_keys_are_stored_as_digests_and_revocable,
    |db| async move {
        let store = open(&db).await;
        let mut tx = store.begin_write().await.unwrap();
        let (record, key) =
            api_keys::create_key(&mut tx, T, "erp", &[Scope::Read], "cli", None, NOW)
                .await
                .unwrap();
        let (_, expiring) = api_keys::create_key(
            &mut tx,
            T,
            "tmp",
            &[Scope::Admin],
            "cli",
            Some(NOW + 10),
            NOW,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert!(key.starts_with("qiao_") && key.len() > 40);
        assert!(key.starts_with(&record.prefix));

        let principal = api_keys::authenticate_key(&store, &key, NOW)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(principal.name, "erp");
        assert!(principal.has(Scope::Read) && !principal.has(Scope::Admin));
        assert!(
            api_keys::authenticate_key(&store, "qiao_wrong", NOW)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            api_keys::authenticate_key(&store, "", NOW)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            api_keys::authenticate_key(&store, &expiring, NOW + 5)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            api_keys::authenticate_key(&store, &expiring, NOW + 10)
                .await
                .unwrap()
                .is_none()
        );

        // The key itself is nowhere in the table.
        let stored: Vec<(String, Vec<u8>)> = on_db!(&store.db, pool => {
            sqlx::query_as("SELECT prefix, digest FROM api_keys").fetch_all(pool).await
        })
        .unwrap();
        for (prefix, digest) in stored {
            // Only a short prefix is kept in clear; the rest is a one-way digest.
            assert!(prefix.len() < 16 && prefix.len() < key.len());
            assert_eq!(digest.len(), 32);
            assert!(
                !digest
                    .windows(8)
                    .any(|w| key.as_bytes().windows(8).any(|k| k == w))
            );
        }

        let mut tx = store.begin_write().await.unwrap();
        api_keys::revoke_key(&mut tx, T, record.id, NOW)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(
            api_keys::authenticate_key(&store, &key, NOW)
                .await
                .unwrap()
                .is_none()
        );
        let listed = api_keys::list_keys(&store, T).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(
            listed
                .iter()
                .any(|k| k.id == record.id && k.revoked_ms == Some(NOW))
        );
        store.close().await;
    }
);

store_test!(
    settings_changes_are_validated_and_audited,
    |db| async move {
        let store = open(&db).await;
        let new = BasicSettings {
            external_url: Some(" https://qiao.example.com/ ".into()),
            public_egress_ip: Some("203.0.113.7".into()),
        };
        let saved = settings::update_basic(&store, T, new, &actor(), NOW)
            .await
            .unwrap();
        assert_eq!(
            saved.external_url.as_deref(),
            Some("https://qiao.example.com")
        );
        assert_eq!(settings::get_basic(&store, T).await.unwrap(), saved);

        let bad = BasicSettings {
            external_url: Some("qiao.example.com".into()),
            public_egress_ip: None,
        };
        let err = settings::update_basic(&store, T, bad, &actor(), NOW)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("external_url"), "{err}");
        let bad_ip = BasicSettings {
            external_url: None,
            public_egress_ip: Some("300.1.1.1".into()),
        };
        assert!(
            settings::update_basic(&store, T, bad_ip, &actor(), NOW)
                .await
                .is_err()
        );
        assert_eq!(
            settings::get_basic(&store, T).await.unwrap(),
            saved,
            "bad input changed nothing"
        );

        let log = audit::list(&store, T, None, 50).await.unwrap();
        assert_eq!(log.len(), 1, "one change, one entry: {log:?}");
        let entry = &log[0];
        assert_eq!(entry.action, "settings.update");
        assert_eq!(entry.actor, "admin:tester");
        assert_eq!(entry.ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(
            entry.before.as_ref().unwrap()["external_url"],
            serde_json::Value::Null
        );
        assert_eq!(
            entry.after.as_ref().unwrap()["external_url"],
            "https://qiao.example.com"
        );
        store.close().await;
    }
);

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

store_test!(
    sealed_values_are_unreadable_at_rest_and_survive_rotation,
    |db| async move {
        let secret = "wx-app-secret-7f3a9c0e5b";
        let key = MasterKey::generate();
        let (state, _) = open_state(db.config(&key)).await.unwrap();
        settings::put_secret(
            &state.store,
            &state.sealer,
            T,
            "outbound_proxy_password",
            secret,
            &actor(),
            NOW,
        )
        .await
        .unwrap();
        state.store.close().await;
        assert!(
            !contains(&raw_database(&db).await, secret),
            "the secret is readable at rest"
        );

        // Rotate with the key in a key file of the data directory.
        let store = Store::open(&db.url).await.unwrap();
        let key_file = db.data_dir().join("master.key");
        std::fs::write(&key_file, key.to_base64()).unwrap();
        let source = KeySource::File(key_file.clone());
        let old = Sealer::new(key.clone());
        let report = rotate_master_key(&store, &old, &source, None)
            .await
            .unwrap();
        assert_eq!(report.resealed, 1);
        assert_ne!(report.old_key_id, report.new_key_id);

        let new_key = MasterKey::from_base64(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
        assert_eq!(new_key.key_id(), report.new_key_id);
        assert!(!db.data_dir().join("master.key.next").exists());
        let new = Sealer::new(new_key.clone());
        assert_eq!(
            settings::get_secret(&store, &new, T, "outbound_proxy_password")
                .await
                .unwrap()
                .as_deref(),
            Some(secret)
        );
        assert!(
            settings::get_secret(&store, &old, T, "outbound_proxy_password")
                .await
                .is_err()
        );
        assert!(!contains(&raw_database(&db).await, secret));

        // A node still holding the old key refuses to start.
        let err = verify_master_key(&store, key, &KeySource::Config)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
        // The current key passes.
        verify_master_key(&store, new_key, &KeySource::Config)
            .await
            .unwrap();
        store.close().await;
    }
);

store_test!(
    an_interrupted_rotation_is_finished_at_start,
    |db| async move {
        let store = Store::open(&db.url).await.unwrap();
        let old_key = MasterKey::generate();
        verify_master_key(&store, old_key.clone(), &KeySource::Config)
            .await
            .unwrap();
        // Simulate a rotation that committed but crashed before renaming the key file.
        let new_key = MasterKey::generate();
        let key_file = db.data_dir().join("master.key");
        std::fs::write(&key_file, old_key.to_base64()).unwrap();
        std::fs::write(db.data_dir().join("master.key.next"), new_key.to_base64()).unwrap();
        let report = rotate_master_key(
            &store,
            &Sealer::new(old_key.clone()),
            &KeySource::Config,
            Some(&db.data_dir().join("elsewhere.key")),
        )
        .await
        .unwrap();
        let rotated = MasterKey::from_base64(
            &std::fs::read_to_string(db.data_dir().join("elsewhere.key")).unwrap(),
        )
        .unwrap();
        assert_eq!(rotated.key_id(), report.new_key_id);
        std::fs::write(db.data_dir().join("master.key.next"), rotated.to_base64()).unwrap();
        let _ = new_key;

        let found = verify_master_key(&store, old_key, &KeySource::File(key_file.clone()))
            .await
            .unwrap();
        assert_eq!(found.key_id(), rotated.key_id());
        assert_eq!(
            std::fs::read_to_string(&key_file).unwrap(),
            rotated.to_base64()
        );
        assert!(!db.data_dir().join("master.key.next").exists());
        store.close().await;
    }
);

store_test!(
    an_own_connection_writes_the_same_database_and_leaves_checkpoints_to_its_owner,
    |db| async move {
        let store = open(&db).await;
        let mut own = store.own_connection().await.unwrap();
        let mut tx = own.begin_write().await.unwrap();
        on_tx!(&mut tx, conn => {
            sqlx::query("INSERT INTO settings (tenant_id, key, value, updated_ms, updated_by) VALUES (1, 'probe', '\"x\"', 0, 'test')")
                .execute(&mut *conn)
                .await
                .map(|_| ())
        })
        .unwrap();
        tx.commit().await.unwrap();
        let (value,): (String,) = on_db!(&store.db, pool => {
            sqlx::query_as("SELECT value FROM settings WHERE key = 'probe'").fetch_one(pool).await
        })
        .unwrap();
        assert_eq!(value, "\"x\"");
        if store.backend() == "sqlite" {
            let mut tx = own.begin_write().await.unwrap();
            let (pages,): (i64,) = on_tx!(&mut tx, conn => {
                sqlx::query_as("PRAGMA wal_autocheckpoint").fetch_one(&mut *conn).await
            })
            .unwrap();
            assert_eq!(pages, 0, "its owner checkpoints");
            tx.commit().await.unwrap();
        }
        own.checkpoint()
            .await
            .expect("a checkpoint on either backend");
        // After an error the owner drops the connection; the next transaction reconnects.
        own.reset();
        let tx = own.begin_write().await.expect("a new connection");
        tx.commit().await.unwrap();
        store.checkpoint().await.unwrap();
        store.close().await;
    }
);
