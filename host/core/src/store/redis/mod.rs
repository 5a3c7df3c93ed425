//! A Redis backend for `object_store`, so workers on several machines can share results through
//! one Redis server instead of a shared file system or an S3 service.
//!
//! ## Layout
//!
//! ```text
//! <namespace>:o:<path>   hash {data, etag, modified}: one object
//! <namespace>:index      sorted set, score 0, members = every object's path
//! <namespace>:etag       counter that hands out ETags
//! ```
//!
//! - **A hash per object** keeps the bytes and their metadata under one key, so a write
//!   replaces both at once and a read can never pair new bytes with an old ETag.
//! - **`modified` is the server's clock** (`TIME`, read inside the write script), not the
//!   writer's: workers on machines whose clocks disagree still see one order of writes, and
//!   `if_modified_since` compares times from a single clock. A rewrite also moves it forward by
//!   at least 1 ms, so a rewrite is never invisible to `if_modified_since`, even within one
//!   millisecond or after the server's clock steps back.
//! - **The index** lets `list` walk only this namespace's paths, in order, 1000 per
//!   `ZRANGEBYLEX`, rather than `SCAN` every key of the database. With equal scores the set
//!   sorts by member bytes, which is `Path` order.
//! - Everything that checks before it writes, or touches several keys, is one Lua script and so
//!   atomic: a `Create` race has exactly one winner and an `Update` never loses a write.
//!
//! ## URL
//!
//! Handed unchanged to the `redis` crate: `redis://[user][:password@]host[:port][/db]`, where an
//! empty path or `/` is database 0 and `/2` is database 2, or `unix:///path/to/socket[?db=N]`.
//! TLS (`rediss://`) is not compiled in. The key prefix is the separate `namespace`, never part
//! of the URL. Messages show the URL with its password masked.
//!
//! ## Limits
//!
//! Objects live in the server's memory: this is for task results, not bulk data. A range read
//! fetches the whole object and slices it here. Attributes are not stored (asking for them is
//! `NotImplemented`, as with `LocalFileSystem`). Deleting a missing object succeeds, as on S3.
//! A multipart upload is buffered here and written by one PUT when completed.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, Error, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload,
    ObjectMeta, ObjectStore, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
    UploadPart,
};
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub(super) const STORE: &str = "Redis";

/// Paths per `ZRANGEBYLEX` page and per read script: 10,000 objects list in about 20 round trips,
/// and no script holds the single-threaded server for long.
const PAGE: usize = 1000;

/// Writes an object with a fresh ETag and the server's time; shared by the put and copy scripts.
macro_rules! write_lua {
    () => {
        r#"
local function write(object, index, counter, path, data)
  local etag = redis.call('INCR', counter)
  local now = redis.call('TIME')
  local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  local previous = tonumber(redis.call('HGET', object, 'modified') or '')
  if previous and ms <= previous then ms = previous + 1 end
  redis.call('HSET', object, 'data', data, 'etag', string.format('%d', etag),
             'modified', string.format('%d', ms))
  redis.call('ZADD', index, 0, path)
  return {0, etag, ms}
end
"#
    };
}

// Script replies are {code, etag, modified}: 0 written, 1 source missing, 2 target exists,
// 3 nothing to update, 4 ETag mismatch.

/// KEYS: object, index, counter. ARGV: path, data, mode, expected ETag.
const PUT_LUA: &str = concat!(
    write_lua!(),
    r#"
if ARGV[3] == 'create' and redis.call('EXISTS', KEYS[1]) == 1 then return {2} end
if ARGV[3] == 'update' then
  local etag = redis.call('HGET', KEYS[1], 'etag')
  if not etag then return {3} end
  if etag ~= ARGV[4] then return {4} end
end
return write(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2])
"#
);

/// KEYS: source, target, index, counter. ARGV: target path, mode.
const COPY_LUA: &str = concat!(
    write_lua!(),
    r#"
local data = redis.call('HGET', KEYS[1], 'data')
if not data then return {1} end
if ARGV[2] == 'create' and redis.call('EXISTS', KEYS[2]) == 1 then return {2} end
return write(KEYS[2], KEYS[3], KEYS[4], ARGV[1], data)
"#
);

/// KEYS: objects. ARGV: `data` to read the bytes too, `-` not to. One {etag, modified, size,
/// data} per key, etag nil for a missing object.
const READ_LUA: &str = r#"
local out = {}
for i, key in ipairs(KEYS) do
  local m = redis.call('HMGET', key, 'etag', 'modified', ARGV[1])
  out[i] = {m[1], m[2], redis.call('HSTRLEN', key, 'data'), m[3]}
end
return out
"#;

/// One object from [`READ_LUA`]: etag, modified, size, data.
type ReadReply = (Option<String>, Option<i64>, u64, Option<Bytes>);

/// KEYS: object, index. ARGV: path.
const DELETE_LUA: &str = r#"
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
"#;

/// An `ObjectStore` in one namespace of a Redis database; cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// Reconnects by itself after the connection breaks (say the server restarted), which a
    /// long-running worker will live through.
    conn: ConnectionManager,
    /// The URL with its password masked, for messages.
    url: String,
    namespace: String,
    index: String,
    counter: String,
    put: Script,
    copy: Script,
    read: Script,
    delete: Script,
}

#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("cannot connect to Redis at {url}: {source}")]
    Connect { url: String, source: redis::RedisError },
    #[error("Redis at {url}: {source}")]
    Command { url: String, source: redis::RedisError },
    #[error("Redis at {url} gave an unexpected reply: {reply}")]
    Reply { url: String, reply: String },
}

/// Whether a Redis failure may go away by itself: the server is unreachable, dropped the
/// connection, timed out, or is still loading its data after a restart. A bad URL, a wrong
/// password or an unexpected reply stays as it is, so retrying it would only hide it.
pub(super) fn is_transient(error: &(dyn std::error::Error + 'static)) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    let source = match error.downcast_ref::<Failure>() {
        Some(Failure::Connect { source, .. } | Failure::Command { source, .. }) => source,
        Some(Failure::Reply { .. }) | None => return false,
    };
    source.is_io_error()
        || source.is_timeout()
        || source.is_connection_dropped()
        || source.is_connection_refusal()
        || matches!(
            source.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading | ServerErrorKind::TryAgain | ServerErrorKind::MasterDown
            )
        )
}

fn generic(failure: Failure) -> Error {
    Error::Generic { store: STORE, source: Box::new(failure) }
}

impl RedisStore {
    /// Connects to the server at `url` (see the module docs) and keeps objects under the key
    /// prefix `namespace`, e.g. `jug:<db-prefix>`. Must run inside a tokio runtime with I/O and
    /// time enabled, which must outlive the store.
    pub async fn connect(url: &str, namespace: &str) -> Result<RedisStore> {
        let shown = mask_password(url);
        let failed = |source| generic(Failure::Connect { url: shown.clone(), source });
        let client = redis::Client::open(url).map_err(failed)?;
        // The crate's 500 ms reply timeout would fail large results on a slow link, and a timed
        // out write leaves its outcome unknown, so time out only a server that seems hung. Few
        // connection retries make an unreachable server fail fast; a later call retries anyway.
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(Duration::from_secs(30)))
            .set_number_of_retries(2);
        let conn = client.get_connection_manager_with_config(config).await.map_err(failed)?;
        let inner = Inner {
            conn,
            url: shown.clone(),
            namespace: namespace.to_owned(),
            index: format!("{namespace}:index"),
            counter: format!("{namespace}:etag"),
            put: Script::new(PUT_LUA),
            copy: Script::new(COPY_LUA),
            read: Script::new(READ_LUA),
            delete: Script::new(DELETE_LUA),
        };
        Ok(RedisStore { inner: Arc::new(inner) })
    }

    fn object_key(&self, path: &str) -> String {
        format!("{}:o:{path}", self.inner.namespace)
    }

    fn conn(&self) -> ConnectionManager {
        self.inner.conn.clone()
    }

    fn failed(&self) -> impl Fn(redis::RedisError) -> Error + '_ {
        |source| generic(Failure::Command { url: self.inner.url.clone(), source })
    }

    fn bad_reply(&self, reply: impl fmt::Debug) -> Error {
        generic(Failure::Reply { url: self.inner.url.clone(), reply: format!("{reply:?}") })
    }

    /// Turns a put or copy script's reply into the new ETag or the error it stands for.
    fn written(&self, reply: &[i64], from: &Path, to: &Path) -> Result<String> {
        let path = |p: &Path| p.to_string();
        match reply {
            [0, etag, _] => Ok(etag.to_string()),
            [1] => Err(Error::NotFound { path: path(from), source: "no such object".into() }),
            [2] => Err(Error::AlreadyExists { path: path(to), source: "the object exists".into() }),
            [3] => Err(Error::Precondition { path: path(to), source: "no object to update".into() }),
            [4] => Err(Error::Precondition { path: path(to), source: "the ETag does not match".into() }),
            _ => Err(self.bad_reply(reply)),
        }
    }

    /// One page of the index from the `ZRANGEBYLEX` bound `start` (inclusive `[` or exclusive
    /// `(`) to `end`.
    async fn names(&self, start: &[u8], end: &[u8]) -> Result<Vec<String>> {
        let mut command = redis::cmd("ZRANGEBYLEX");
        command.arg(&self.inner.index).arg(start).arg(end).arg("LIMIT").arg(0).arg(PAGE);
        command.query_async(&mut self.conn()).await.map_err(self.failed())
    }

    /// Reads up to [`PAGE`] objects in one round trip; `None` for one that is missing.
    async fn read(&self, names: &[String], data: bool) -> Result<Vec<Option<(ObjectMeta, Bytes)>>> {
        let mut call = self.inner.read.prepare_invoke();
        for name in names {
            call.key(self.object_key(name));
        }
        let replies: Vec<ReadReply> = call
            .arg(if data { "data" } else { "-" })
            .invoke_async(&mut self.conn())
            .await
            .map_err(self.failed())?;
        let mut read = Vec::with_capacity(names.len());
        for (name, reply) in names.iter().zip(replies) {
            let (Some(e_tag), Some(modified), size, bytes) = reply else {
                read.push(None);
                continue;
            };
            let location = Path::parse(name).map_err(|source| Error::InvalidPath { source })?;
            let last_modified = DateTime::<Utc>::from_timestamp_millis(modified)
                .ok_or_else(|| self.bad_reply(format!("modified = {modified}")))?;
            let meta = ObjectMeta { location, last_modified, size, e_tag: Some(e_tag), version: None };
            read.push(Some((meta, bytes.unwrap_or_default())));
        }
        Ok(read)
    }

    /// Metadata of the objects still there: some may have been deleted since they were listed.
    async fn metas(&self, names: &[String]) -> Result<Vec<ObjectMeta>> {
        Ok(self.read(names, false).await?.into_iter().flatten().map(|(meta, _)| meta).collect())
    }

    async fn remove(&self, location: &Path) -> Result<()> {
        let mut call = self.inner.delete.key(self.object_key(location.as_ref()));
        call.key(&self.inner.index).arg(location.as_ref());
        let _: i64 = call.invoke_async(&mut self.conn()).await.map_err(self.failed())?;
        Ok(())
    }
}

/// `a/b` lists `a/b/…`, not `a/bc`: the string prefix of a path prefix ends with a delimiter.
fn string_prefix(prefix: Option<&Path>) -> String {
    match prefix.map(Path::as_ref) {
        None | Some("") => String::new(),
        Some(p) => format!("{p}/"),
    }
}

/// `ZRANGEBYLEX` bounds covering every member that starts with `prefix`; no UTF-8 string holds
/// the byte 0xff, so `prefix` + 0xff is above all of them.
fn lex_bounds(prefix: &str) -> (Vec<u8>, Vec<u8>) {
    if prefix.is_empty() {
        return (b"-".to_vec(), b"+".to_vec());
    }
    let start = [b"[", prefix.as_bytes()].concat();
    (start.clone(), [start.as_slice(), &[0xff]].concat())
}

fn not_implemented(operation: &str) -> Error {
    Error::NotImplemented { operation: operation.to_owned(), implementer: "RedisStore".to_owned() }
}

/// `redis://user:secret@host/` → `redis://user:***@host/`.
fn mask_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) if authority[..at].contains(':') => {
            let user = authority[..at].split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{}", &rest[at + 1..])
        }
        _ => url.to_owned(),
    }
}

impl fmt::Display for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redis({}, namespace {})", self.inner.url, self.inner.namespace)
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisStore {{ url: {:?}, namespace: {:?} }}", self.inner.url, self.inner.namespace)
    }
}

#[async_trait]
impl ObjectStore for RedisStore {
    async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
        if !opts.attributes.is_empty() {
            return Err(not_implemented("`put_opts` with `opts.attributes` specified"));
        }
        let (mode, expected) = match &opts.mode {
            PutMode::Overwrite => ("overwrite", ""),
            PutMode::Create => ("create", ""),
            PutMode::Update(version) => {
                let missing = || Error::Generic { store: STORE, source: "an update needs an ETag".into() };
                ("update", version.e_tag.as_deref().ok_or_else(missing)?)
            }
        };
        let data = Bytes::from(payload);
        let mut call = self.inner.put.key(self.object_key(location.as_ref()));
        call.key(&self.inner.index).key(&self.inner.counter);
        call.arg(location.as_ref()).arg(data.as_ref()).arg(mode).arg(expected);
        let reply: Vec<i64> = call.invoke_async(&mut self.conn()).await.map_err(self.failed())?;
        let etag = self.written(&reply, location, location)?;
        Ok(PutResult { e_tag: Some(etag), version: None, extensions: Default::default() })
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        if !opts.attributes.is_empty() {
            return Err(not_implemented("`put_multipart_opts` with `opts.attributes` specified"));
        }
        Ok(Box::new(BufferedUpload { store: self.clone(), location: location.clone(), parts: Vec::new() }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let name = location.as_ref().to_owned();
        let Some(Some((meta, data))) = self.read(&[name], !options.head).await?.pop() else {
            return Err(Error::NotFound { path: location.to_string(), source: "no such object".into() });
        };
        options.check_preconditions(&meta)?;
        let range = match &options.range {
            Some(range) => {
                range.as_range(meta.size).map_err(|e| Error::Generic { store: STORE, source: e.into() })?
            }
            None => 0..meta.size,
        };
        // One script read the size and the bytes, so a range within the size is within the bytes.
        let body = if options.head { data } else { data.slice(range.start as usize..range.end as usize) };
        Ok(GetResult {
            payload: GetResultPayload::Stream(stream::once(async move { Ok(body) }).boxed()),
            meta,
            range,
            attributes: Default::default(),
            extensions: Default::default(),
        })
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<Path>>) -> BoxStream<'static, Result<Path>> {
        let store = self.clone();
        // Requests in flight share one multiplexed connection, so ten at once cost about one
        // round trip; `buffered` keeps results in input order, as the trait asks.
        locations
            .map(move |location| {
                let store = store.clone();
                async move {
                    let location = location?;
                    store.remove(&location).await?;
                    Ok(location)
                }
            })
            .buffered(10)
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let store = self.clone();
        let (start, end) = lex_bounds(&string_prefix(prefix));
        stream::try_unfold(Some(start), move |start| {
            let (store, end) = (store.clone(), end.clone());
            async move {
                let Some(start) = start else { return Ok(None) };
                let names = store.names(&start, &end).await?;
                let next = match names.last() {
                    Some(last) if names.len() == PAGE => Some([b"(", last.as_bytes()].concat()),
                    _ => None,
                };
                let metas = store.metas(&names).await?;
                Ok::<_, Error>(Some((stream::iter(metas.into_iter().map(Ok)), next)))
            }
        })
        .try_flatten()
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let prefix = string_prefix(prefix);
        let (mut start, end) = lex_bounds(&prefix);
        let (mut files, mut dirs) = (Vec::new(), Vec::<String>::new());
        loop {
            let names = self.names(&start, &end).await?;
            let full = names.len() == PAGE;
            let mut last_dir = None;
            for name in names.iter() {
                let Some(rest) = name.strip_prefix(&prefix) else { continue };
                match rest.split_once('/') {
                    None => {
                        files.push(name.clone());
                        last_dir = None;
                    }
                    Some((dir, _)) => {
                        let dir = format!("{prefix}{dir}");
                        if dirs.last() != Some(&dir) {
                            dirs.push(dir.clone());
                        }
                        last_dir = Some(dir);
                    }
                }
            }
            // Jump past the rest of a directory the page ended in: "d0" sorts right after
            // every "d/…" ('0' follows '/'), so a directory costs one page, not one per 1000.
            start = match (last_dir, names.last()) {
                (Some(dir), _) => [b"[", dir.as_bytes(), b"0"].concat(),
                (None, Some(last)) => [b"(", last.as_bytes()].concat(),
                (None, None) => break,
            };
            if !full {
                break;
            }
        }
        let mut objects = Vec::with_capacity(files.len());
        for chunk in files.chunks(PAGE) {
            objects.extend(self.metas(chunk).await?);
        }
        let common_prefixes = dirs
            .iter()
            .map(Path::parse)
            .collect::<Result<_, _>>()
            .map_err(|source| Error::InvalidPath { source })?;
        Ok(ListResult { common_prefixes, objects, extensions: Default::default() })
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        let mode = match options.mode {
            CopyMode::Overwrite => "overwrite",
            CopyMode::Create => "create",
        };
        let mut call = self.inner.copy.key(self.object_key(from.as_ref()));
        call.key(self.object_key(to.as_ref())).key(&self.inner.index).key(&self.inner.counter);
        let reply: Vec<i64> =
            call.arg(to.as_ref()).arg(mode).invoke_async(&mut self.conn()).await.map_err(self.failed())?;
        self.written(&reply, from, to).map(drop)
    }
}

/// Collects the parts here and writes them with one PUT, so the object appears whole or not at
/// all; Redis has no way to append to a hash field atomically with the metadata anyway.
#[derive(Debug)]
struct BufferedUpload {
    store: RedisStore,
    location: Path,
    parts: Vec<PutPayload>,
}

#[async_trait]
impl MultipartUpload for BufferedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.parts.push(data);
        Box::pin(async { Ok(()) })
    }

    async fn complete(&mut self) -> Result<PutResult> {
        let payload: PutPayload = std::mem::take(&mut self.parts).into_iter().flatten().collect();
        self.store.put_opts(&self.location, payload, PutOptions::default()).await
    }

    async fn abort(&mut self) -> Result<()> {
        self.parts.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
