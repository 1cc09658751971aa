//! `user/list_id` at the largest page size: every (member, department) row comes back exactly
//! once, and a page costs what its size costs wherever the cursor points (the cursor is a
//! B-tree seek, not a scan from the start). The CI variant walks 20 000 members; the figures
//! of the issue (100 000 members, 5 000 departments, release build) come from the ignored
//! `list_id_figures`, run by `scripts/list-id-figures.sh`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wxsim::{LimitsConfig, Seed, SimConfig};

use crate::helpers::{Env, errcode};

/// Tencent's largest `list_id` page.
const MAX_PAGE: usize = 10_000;

/// One walk through `list_id`: the rows, and per page the cursor sent and the round trip.
struct Walk {
    rows: Vec<(String, u64)>,
    cursors: Vec<String>,
    page_times: Vec<Duration>,
}

/// Pages through `list_id` with `limit` until `next_cursor` is empty.
async fn walk(env: &Env, url: &str, limit: usize) -> Walk {
    let mut w = Walk {
        rows: Vec::new(),
        cursors: Vec::new(),
        page_times: Vec::new(),
    };
    let mut cursor = String::new();
    loop {
        let started = Instant::now();
        let v = env
            .post(url, &json!({"cursor": cursor, "limit": limit}))
            .await;
        w.page_times.push(started.elapsed());
        assert_eq!(errcode(&v), 0, "{v}");
        let page = v["dept_user"].as_array().expect("dept_user");
        assert!(page.len() <= limit);
        w.rows.extend(page.iter().map(|r: &Value| {
            (
                r["userid"].as_str().expect("userid").to_owned(),
                r["department"].as_u64().expect("department"),
            )
        }));
        let next = v["next_cursor"].as_str().expect("next_cursor").to_owned();
        w.cursors.push(std::mem::replace(&mut cursor, next));
        if cursor.is_empty() {
            return w;
        }
    }
}

/// Every (userid, department) pair of the seeded corp.
fn expected_rows(seed: &Seed) -> BTreeSet<(String, u64)> {
    seed.corps[0]
        .members
        .iter()
        .flat_map(|m| {
            m.department
                .iter()
                .map(move |d| (m.userid.clone(), u64::from(*d)))
        })
        .collect()
}

/// Each row exactly once, every member present, and no more pages than the rows need.
fn assert_complete(w: &Walk, expected: &BTreeSet<(String, u64)>, members: usize, limit: usize) {
    let unique: BTreeSet<(String, u64)> = w.rows.iter().cloned().collect();
    assert_eq!(unique.len(), w.rows.len(), "no row twice");
    assert_eq!(&unique, expected, "every (member, department) exactly once");
    let userids: BTreeSet<&str> = w.rows.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(userids.len(), members, "every member");
    assert_eq!(w.page_times.len(), expected.len().div_ceil(limit));
}

/// A simulator seeded with the generated corp, limits off (the walk measures paging, not
/// the per-minute API quota). Returns it with the generation and load times.
async fn seeded(members: usize, departments: usize) -> (Env, Seed, Duration, Duration) {
    let started = Instant::now();
    let seed = Seed::generated(11, members, departments, 0);
    let generated = started.elapsed();
    let started = Instant::now();
    let env = Env::with_config(SimConfig {
        seed: seed.clone(),
        limits: LimitsConfig::off(),
        ..SimConfig::default()
    })
    .await;
    (env, seed, generated, started.elapsed())
}

async fn list_id_url(env: &Env) -> String {
    let t = env.contacts_token().await;
    format!("{}?access_token={t}", env.qy("/cgi-bin/user/list_id"))
}

#[tokio::test]
async fn list_id_visits_each_member_once_over_20000() {
    let (env, seed, _, _) = seeded(20_000, 800).await;
    let url = list_id_url(&env).await;
    let w = walk(&env, &url, MAX_PAGE).await;
    assert_complete(&w, &expected_rows(&seed), 20_000, MAX_PAGE);
    let w = walk(&env, &url, 3_000).await;
    assert_complete(&w, &expected_rows(&seed), 20_000, 3_000);
    assert_eq!(
        errcode(&env.post(&url, &json!({"limit": MAX_PAGE + 1})).await),
        40058
    );
    assert_eq!(
        errcode(&env.post(&url, &json!({"cursor": "!!"})).await),
        40058
    );
}

/// `(mean, max)` of some durations.
fn mean_max(times: &[Duration]) -> (Duration, Duration) {
    let total: Duration = times.iter().sum();
    let n = u32::try_from(times.len().max(1)).unwrap_or(u32::MAX);
    (total / n, times.iter().copied().max().unwrap_or_default())
}

/// Early and late thirds of the full pages (the short last page would flatter the end).
fn early_late(
    times_per_walk: &[Vec<Duration>],
    full_pages: usize,
) -> (Vec<Duration>, Vec<Duration>) {
    let third = (full_pages / 3).max(1);
    let pick = |range: std::ops::Range<usize>| -> Vec<Duration> {
        times_per_walk
            .iter()
            .flat_map(|t| t[range.clone()].iter().copied())
            .collect()
    };
    (pick(0..third), pick(full_pages - third..full_pages))
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn print_row(label: &str, early: &[Duration], late: &[Duration]) {
    let ((em, ex), (lm, lx)) = (mean_max(early), mean_max(late));
    println!(
        "{label:<22} early mean {em:>10.3?} max {ex:>10.3?} | late mean {lm:>10.3?} max {lx:>10.3?} | late/early mean {:.2}",
        lm.as_secs_f64() / em.as_secs_f64().max(1e-9)
    );
}

#[tokio::test]
#[ignore = "figures: scripts/list-id-figures.sh runs it on a release build"]
async fn list_id_figures() {
    let members = env_usize("WXSIM_FIGURES_MEMBERS", 100_000);
    let departments = env_usize("WXSIM_FIGURES_DEPARTMENTS", 5_000);
    let rounds = env_usize("WXSIM_FIGURES_ROUNDS", 5).max(1);
    let (env, seed, generated, loaded) = seeded(members, departments).await;
    let expected = expected_rows(&seed);
    let url = list_id_url(&env).await;
    let mut walks = Vec::with_capacity(rounds);
    let mut walk_times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        let w = walk(&env, &url, MAX_PAGE).await;
        walk_times.push(started.elapsed());
        assert_complete(&w, &expected, members, MAX_PAGE);
        walks.push(w);
    }
    let full_pages = expected.len() / MAX_PAGE;
    assert!(full_pages >= 3, "too few pages to compare early and late");
    let http: Vec<Vec<Duration>> = walks.iter().map(|w| w.page_times.clone()).collect();
    // The same pages without HTTP and JSON: the cursor seek plus the page build alone.
    let cursors = &walks[0].cursors;
    let direct: Vec<Vec<Duration>> = (0..rounds)
        .map(|_| {
            cursors
                .iter()
                .map(|c| {
                    env.sim.state().with_world(|w| {
                        let dir = &w.corps.values().next().expect("corp").directory;
                        let started = Instant::now();
                        let page = dir.list_id(c, MAX_PAGE).expect("cursor from the walk");
                        std::hint::black_box(page);
                        started.elapsed()
                    })
                })
                .collect()
        })
        .collect();
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("list_id figures ({build} build, {members} members, {departments} departments)");
    println!(
        "seed: generate {generated:.3?} + load {loaded:.3?} = {:.3?}",
        generated + loaded
    );
    println!(
        "rows {} in {} pages of {MAX_PAGE} ({full_pages} full), {rounds} walks",
        expected.len(),
        walks[0].page_times.len()
    );
    let (wm, wx) = mean_max(&walk_times);
    println!("walk over HTTP: mean {wm:.3?}, max {wx:.3?}");
    let (early, late) = early_late(&http, full_pages);
    print_row("per page, HTTP", &early, &late);
    let (d_early, d_late) = early_late(&direct, full_pages);
    print_row("per page, in-process", &d_early, &d_late);
    // A scan from the start would make the late pages several times the early ones.
    let (em, lm) = (mean_max(&d_early).0, mean_max(&d_late).0);
    assert!(
        lm < em * 3 + Duration::from_millis(1),
        "late pages cost more: {em:?} → {lm:?}"
    );
    if !cfg!(debug_assertions) {
        assert!(
            generated + loaded < Duration::from_secs(2),
            "seeding takes under 2 s"
        );
    }
}
