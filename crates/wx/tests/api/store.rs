//! [`MemoryTokenStore`] semantics: the single flight every node relies on.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use wx::api::ApiError;
use wx::token::{CachedToken, FetchFn, MemoryTokenStore, StoreError, TokenStore};

fn fetch_counting<'a>(counter: &Arc<AtomicUsize>, value: &'static str) -> FetchFn<'a> {
    let counter = Arc::clone(counter);
    Box::new(move || {
        Box::pin(async move {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(CachedToken::from_expires_in(value, 7200, 1_000))
        })
    })
}

fn clock() -> Arc<dyn wx::token::Clock> {
    Arc::new(|| 2_000_i64)
}

#[tokio::test]
async fn refresh_rules() {
    let store = MemoryTokenStore::new().with_clock(clock());
    let n = Arc::new(AtomicUsize::new(0));
    assert!(store.get("k").await.unwrap().is_none());
    let t = store
        .refresh("k", None, fetch_counting(&n, "A"))
        .await
        .unwrap();
    assert_eq!(t.value, "A");
    // Valid and no stale given: no fetch.
    let t = store
        .refresh("k", None, fetch_counting(&n, "B"))
        .await
        .unwrap();
    assert_eq!((t.value.as_str(), n.load(Ordering::SeqCst)), ("A", 1));
    // Stored differs from stale: no fetch.
    let t = store
        .refresh("k", Some("OLD"), fetch_counting(&n, "B"))
        .await
        .unwrap();
    assert_eq!((t.value.as_str(), n.load(Ordering::SeqCst)), ("A", 1));
    // Stored is the stale one: fetch.
    let t = store
        .refresh("k", Some("A"), fetch_counting(&n, "B"))
        .await
        .unwrap();
    assert_eq!((t.value.as_str(), n.load(Ordering::SeqCst)), ("B", 2));
    assert_eq!(store.get("k").await.unwrap().unwrap().value, "B");
    // Expired: fetch.
    store.insert(
        "k",
        CachedToken {
            value: "C".into(),
            expires_at_ms: 1_500,
            fetched_at_ms: 0,
        },
    );
    let t = store
        .refresh("k", None, fetch_counting(&n, "D"))
        .await
        .unwrap();
    assert_eq!(t.value, "D");
    // A failing fetch is reported as such and stores nothing.
    let failing: FetchFn<'_> = Box::new(|| {
        Box::pin(async {
            Err(ApiError::Unavailable {
                api: "/x".into(),
                message: "down".into(),
            })
        })
    });
    let e = store.refresh("k", Some("D"), failing).await.unwrap_err();
    assert!(matches!(e, StoreError::Fetch(_)));
    assert_eq!(store.get("k").await.unwrap().unwrap().value, "D");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_fetch_once() {
    let store = Arc::new(MemoryTokenStore::new().with_clock(clock()));
    store.insert(
        "k",
        CachedToken {
            value: "X".into(),
            expires_at_ms: 9_999_999,
            fetched_at_ms: 0,
        },
    );
    let n = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (store, n) = (Arc::clone(&store), Arc::clone(&n));
        tasks.push(tokio::spawn(async move {
            store
                .refresh("k", Some("X"), fetch_counting(&n, "Y"))
                .await
                .unwrap()
                .value
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), "Y");
    }
    assert_eq!(n.load(Ordering::SeqCst), 1);
    assert_eq!(store.fetch_count(), 1);
}

#[tokio::test]
async fn waiters_time_out() {
    let store = Arc::new(
        MemoryTokenStore::new()
            .with_clock(clock())
            .with_wait_timeout(Duration::from_millis(30)),
    );
    let s2 = Arc::clone(&store);
    let first = tokio::spawn(async move {
        let slow: FetchFn<'_> = Box::new(|| {
            Box::pin(async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                Ok(CachedToken::from_expires_in("S", 7200, 1_000))
            })
        });
        s2.refresh("k", None, slow).await
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    let n = Arc::new(AtomicUsize::new(0));
    let e = store
        .refresh("k", None, fetch_counting(&n, "T"))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Timeout));
    assert_eq!(first.await.unwrap().unwrap().value, "S");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_waiters_share_a_failed_fetch() {
    let store = Arc::new(MemoryTokenStore::new().with_clock(clock()));
    let n = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (store, n) = (Arc::clone(&store), Arc::clone(&n));
        tasks.push(tokio::spawn(async move {
            let failing: FetchFn<'_> = Box::new(move || {
                Box::pin(async move {
                    n.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Err(ApiError::HttpStatus {
                        api: "/cgi-bin/gettoken".into(),
                        status: 503,
                    })
                })
            });
            store.refresh("k", None, failing).await
        }));
    }
    for t in tasks {
        assert!(matches!(t.await.unwrap(), Err(StoreError::Fetch(_))));
    }
    assert_eq!(n.load(Ordering::SeqCst), 1);
}
