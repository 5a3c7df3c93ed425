//! The Redis backend against a real server (`JUG_TEST_REDIS`, started by scripts/test).

use super::*;
use object_store::{GetRange, ObjectStoreExt as _, UpdateVersion};

/// Runs `test` in a namespace of its own on the server named by `JUG_TEST_REDIS`, then
/// deletes every key of that namespace, also when the test panicked.
fn with_store<T: Future<Output = ()> + Send + 'static>(name: &str, test: impl FnOnce(RedisStore) -> T) {
    let url = std::env::var("JUG_TEST_REDIS")
        .expect("set JUG_TEST_REDIS to a Redis server for these tests, e.g. redis://127.0.0.1:6390/");
    let time = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let namespace = format!("jug-test:{name}:{}:{time}", std::process::id());
    runtime().block_on(async {
        let store = RedisStore::connect(&url, &namespace).await.expect("the test Redis server is up");
        let outcome = tokio::spawn(test(store.clone())).await;
        let keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("{namespace}:*")).query_async(&mut store.conn()).await.unwrap();
        let _: () = redis::cmd("DEL").arg(keys).query_async(&mut store.conn()).await.unwrap_or(());
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

async fn text(store: &RedisStore, path: &str) -> String {
    let bytes = store.get(&Path::from(path)).await.unwrap().bytes().await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn mode(mode: PutMode) -> PutOptions {
    PutOptions { mode, ..Default::default() }
}

macro_rules! assert_err {
    ($result:expr, $variant:ident) => {
        let result = $result;
        assert!(matches!(result, Err(Error::$variant { .. })), "{result:?}");
    };
}

#[test]
fn redis_put_get_head_delete() {
    with_store("basic", |store| async move {
        let path = Path::from("a/b");
        let put = store.put(&path, "hello".into()).await.unwrap();
        assert_eq!(text(&store, "a/b").await, "hello");
        let head = store.head(&path).await.unwrap();
        assert_eq!((head.size, head.location, head.e_tag), (5, path.clone(), put.e_tag));
        store.delete(&path).await.unwrap();
        assert_err!(store.get(&path).await, NotFound);
        assert_err!(store.head(&path).await, NotFound);
        store.delete(&path).await.unwrap();
        assert_eq!(store.list(None).count().await, 0);
    });
}

#[test]
fn redis_lists_with_prefix_and_delimiter() {
    with_store("list", |store| async move {
        // Over 2000 paths under `results/`, so listings take several pages.
        let mut paths: Vec<String> = (0..2100).map(|i| format!("results/{:02}/{i:04}", i % 7)).collect();
        paths
            .extend((0..5).map(|i| format!("results/top{i}")).chain(["results2/x".into(), "other/y".into()]));
        let puts = paths.into_iter().map(|p| {
            let store = store.clone();
            tokio::spawn(async move { store.put(&Path::from(p.as_str()), p.into_bytes().into()).await })
        });
        assert!(futures::future::join_all(puts).await.into_iter().all(|put| matches!(put, Ok(Ok(_)))));

        let listed: Vec<_> = store.list(Some(&Path::from("results"))).try_collect().await.unwrap();
        assert_eq!(listed.len(), 2105);
        assert!(listed.windows(2).all(|w| w[0].location < w[1].location));
        assert!(listed.iter().all(|m| m.size == m.location.as_ref().len() as u64));

        let strings = |paths: Vec<Path>| paths.iter().map(Path::to_string).collect::<Vec<_>>();
        let top = store.list_with_delimiter(Some(&Path::from("results"))).await.unwrap();
        let dirs: Vec<_> = (0..7).map(|i| format!("results/{i:02}")).collect();
        assert_eq!(strings(top.common_prefixes), dirs);
        let files: Vec<_> = top.objects.into_iter().map(|m| m.location).collect();
        assert_eq!(strings(files), (0..5).map(|i| format!("results/top{i}")).collect::<Vec<_>>());
        let dir = store.list_with_delimiter(Some(&Path::from("results/03"))).await.unwrap();
        assert_eq!((dir.common_prefixes.len(), dir.objects.len()), (0, 300));
        let root = store.list_with_delimiter(None).await.unwrap();
        assert_eq!(strings(root.common_prefixes), ["other", "results", "results2"]);
        assert!(root.objects.is_empty());

        let all = store.list(None).map_ok(|m| m.location).boxed();
        assert_eq!(store.delete_stream(all).try_collect::<Vec<_>>().await.unwrap().len(), 2107);
        assert_eq!(store.list(None).count().await, 0);
    });
}

#[test]
fn redis_create_is_exclusive() {
    with_store("create", |store| async move {
        let path = Path::from("locks/k");
        store.put_opts(&path, "1".into(), mode(PutMode::Create)).await.unwrap();
        assert_err!(store.put_opts(&path, "2".into(), mode(PutMode::Create)).await, AlreadyExists);
        let tries = (0..16).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store.put_opts(&Path::from("locks/race"), format!("{i}").into(), mode(PutMode::Create)).await
            })
        });
        let outcomes = futures::future::join_all(tries).await;
        let won = outcomes.iter().filter(|o| matches!(o, Ok(Ok(_)))).count();
        let lost = outcomes.iter().filter(|o| matches!(o, Ok(Err(Error::AlreadyExists { .. })))).count();
        assert_eq!((won, lost), (1, 15));
    });
}

#[test]
fn redis_update_checks_the_etag() {
    with_store("update", |store| async move {
        let path = Path::from("x");
        let first = store.put(&path, "1".into()).await.unwrap().e_tag;
        let update = |e_tag: &Option<String>| {
            mode(PutMode::Update(UpdateVersion { e_tag: e_tag.clone(), version: None }))
        };
        let second = store.put_opts(&path, "2".into(), update(&first)).await.unwrap().e_tag;
        assert_ne!(second, first);
        assert_err!(store.put_opts(&path, "3".into(), update(&first)).await, Precondition);
        assert_err!(store.put_opts(&Path::from("y"), "3".into(), update(&second)).await, Precondition);
        assert_eq!(text(&store, "x").await, "2");
    });
}

#[test]
fn redis_rewrites_advance_last_modified_for_preconditions() {
    with_store("modified", |store| async move {
        let path = Path::from("m");
        store.put(&path, "1".into()).await.unwrap();
        let old = store.head(&path).await.unwrap();
        store.put(&path, "2".into()).await.unwrap();
        let new = store.head(&path).await.unwrap();
        assert!(new.last_modified > old.last_modified);

        let get = |options: GetOptions| store.get_opts(&path, options);
        get(GetOptions::new().with_if_modified_since(Some(old.last_modified))).await.unwrap();
        assert_err!(
            get(GetOptions::new().with_if_modified_since(Some(new.last_modified))).await,
            NotModified
        );
        assert_err!(
            get(GetOptions::new().with_if_unmodified_since(Some(old.last_modified))).await,
            Precondition
        );
        get(GetOptions::new().with_if_match(new.e_tag.clone())).await.unwrap();
        assert_err!(get(GetOptions::new().with_if_match(old.e_tag)).await, Precondition);
        assert_err!(get(GetOptions::new().with_if_none_match(new.e_tag)).await, NotModified);
    });
}

#[test]
fn redis_range_reads() {
    with_store("range", |store| async move {
        let path = Path::from("r");
        store.put(&path, "0123456789".into()).await.unwrap();
        assert_eq!(store.get_range(&path, 2..5).await.unwrap().as_ref(), b"234");
        let got = store.get_opts(&path, GetOptions::new().with_range(Some(2..5))).await.unwrap();
        assert_eq!((got.range.clone(), got.meta.size), (2..5, 10));
        for range in [GetRange::Suffix(3), GetRange::Offset(7)] {
            let got = store.get_opts(&path, GetOptions::new().with_range(Some(range))).await.unwrap();
            assert_eq!(got.bytes().await.unwrap().as_ref(), b"789");
        }
        assert!(store.get_range(&path, 20..30).await.is_err());
    });
}

#[test]
fn redis_copies_renames_and_uploads() {
    with_store("copy", |store| async move {
        let (a, b) = (Path::from("a"), Path::from("b"));
        store.put(&a, "A".into()).await.unwrap();
        store.copy(&a, &b).await.unwrap();
        assert_eq!(text(&store, "b").await, "A");
        assert_err!(store.copy_if_not_exists(&a, &b).await, AlreadyExists);
        assert_err!(store.copy(&Path::from("none"), &b).await, NotFound);
        store.rename(&b, &Path::from("c")).await.unwrap();
        let mut upload = store.put_multipart(&Path::from("d")).await.unwrap();
        upload.put_part("he".into()).await.unwrap();
        upload.put_part("llo".into()).await.unwrap();
        upload.complete().await.unwrap();
        assert_eq!(text(&store, "d").await, "hello");
        let left: Vec<_> = store.list(None).map_ok(|m| m.location.to_string()).try_collect().await.unwrap();
        assert_eq!(left, ["a", "c", "d"]);
    });
}

#[test]
fn redis_connect_failure_names_the_url_but_not_the_password() {
    runtime().block_on(async {
        for url in ["redis://:secret@127.0.0.1:1/", "redis://127.0.0.1:1/notadb"] {
            let message = RedisStore::connect(url, "x").await.unwrap_err().to_string();
            assert!(message.contains("127.0.0.1:1") && !message.contains("secret"), "{message}");
        }
    });
}
