//! Which results the store holds, and where: the packs' entries, less the tombstones, plus
//! the results stored alone.
//!
//! ```text
//! packs/<b>/<pack id>   a pack (see `pack`): the results of one batch, all of bucket <b>
//! results/<b>/<key>     a result stored alone: big ones, and those of stores from before packs
//! tombstones/<id>       lines `<pack path> <key hex>`: entries removed from packs, and
//!                       `trace <hex>`: traces revoked (see `trace`)
//! index/<id>            a consolidated index: the entry tables of many packs in one object
//! ```
//!
//! Everything here is written once and never changed, under a name nobody else uses; what
//! changes is which objects exist. That is what makes removal safe without a conditional
//! delete. A reader lists tombstones *before* packs, and a compaction removes a pack before the
//! tombstones that name it, so no reader can see a pack without the tombstones that apply to
//! it. A reader that meets a pack or index removed since its listing (a compaction, a newer
//! consolidation) lists again: readers retry, writers never wait.
//!
//! A consolidated index only spares reading each pack's table: which packs exist is always
//! the listing's word, so an index that names a removed pack misleads nobody.
//!
//! The listing's sizes are its word too: a result stored alone that is smaller than the
//! envelope's header, or that this process cannot read, is no result (it is *unsound*, and
//! `execute` replaces it), and a pack entry that ends past its pack's listed size is not
//! there. No result is read to know it, so `status` costs the same few requests.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::backend::Backend;
use super::envelope;
use super::pack::{self, Entry};
use super::{StoreError, bucket_of};
use crate::Key;

/// Packs as listed, by full path, with their sizes (`None`: unreadable).
pub(super) type Listing = Vec<(Arc<str>, Option<u64>)>;

/// Where a result lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Place {
    Alone,
    Packed { pack: Arc<str>, offset: u64, len: u64 },
}

/// One tombstone object: entries removed from packs, and traces revoked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Tombstones {
    pub(super) dead: Vec<(Arc<str>, Key)>,
    pub(super) revoked: Vec<Key>,
}

/// What the store holds, as of the last listing, with every pack table read so far.
#[derive(Default, Clone)]
pub(super) struct Index {
    /// Entry tables read so far, by pack path (packs never change).
    tables: HashMap<Arc<str>, Arc<[Entry]>>,
    /// The packs the listings showed, by bucket, and the size of each (`None`: unreadable).
    listed: HashMap<u8, Vec<Arc<str>>>,
    pack_sizes: HashMap<Arc<str>, Option<u64>>,
    /// Tombstone objects read, and the `(pack, key)` entries they remove.
    tombstone_files: HashMap<String, Tombstones>,
    dead: HashSet<(Arc<str>, Key)>,
    /// Traces no task may reuse a result through any more (`invalidate`, see `trace`).
    revoked: HashSet<Key>,
    /// Consolidated indexes read, with the packs each covers, and the last listing of them.
    consolidated: HashMap<String, Vec<Arc<str>>>,
    index_listing: Vec<String>,
    /// Packs this handle wrote that no consolidated index of its own covers yet.
    own: Vec<Arc<str>>,
    alone: HashSet<Key>,
    /// Results stored alone that are empty, cut short of a header or unreadable: no result.
    unsound: HashSet<Key>,
    /// Live results: key → where (rebuilt after each refresh).
    places: HashMap<Key, Place>,
    /// Whether a full listing has been taken.
    pub(super) loaded: bool,
}

impl Index {
    /// Lists everything and reads what is new: tombstones first (see the module docs).
    pub(super) fn refresh_all(&mut self, backend: &dyn Backend) -> Result<(), StoreError> {
        for _ in 0..3 {
            if self.try_refresh_all(backend)? {
                return Ok(());
            }
        }
        self.try_refresh_all(backend).map(drop)
    }

    /// `false` if an object vanished while we read (a compaction): the caller lists again.
    fn try_refresh_all(&mut self, backend: &dyn Backend) -> Result<bool, StoreError> {
        let tombstones = backend.list("tombstones")?;
        let indexes = backend.list("index")?;
        let packs = backend.list_sized("packs")?;
        let alone = backend.list_sized("results")?;

        self.tombstone_files.retain(|id, _| tombstones.contains(id));
        let unread: Vec<&String> =
            tombstones.iter().filter(|id| !self.tombstone_files.contains_key(*id)).collect();
        for id in unread {
            let Some(bytes) = backend.get(&format!("tombstones/{id}"))? else { return Ok(false) };
            self.tombstone_files.insert(id.clone(), decode_tombstones(&bytes));
        }
        self.consolidated.retain(|id, _| indexes.contains(id));
        let mut listed: HashMap<u8, Vec<Arc<str>>> = HashMap::new();
        self.pack_sizes.clear();
        for (path, size) in packs {
            if let Some(bucket) = path.split('/').next().and_then(parse_bucket) {
                let path: Arc<str> = Arc::from(format!("packs/{path}"));
                self.pack_sizes.insert(path.clone(), size);
                listed.entry(bucket).or_default().push(path);
            }
        }
        let unread: Vec<&String> = indexes.iter().filter(|id| !self.consolidated.contains_key(*id)).collect();
        for id in unread {
            // Gone since the listing: a newer one replaced it; the packs are read one by one.
            let Some(bytes) = backend.get(&format!("index/{id}"))? else { continue };
            let Some(covered) = decode_consolidated(&bytes) else {
                tracing::warn!(
                    "the consolidated index index/{id} is damaged; reading the packs it covers instead"
                );
                continue;
            };
            let paths = covered.iter().map(|(path, _)| path.clone()).collect();
            self.tables.extend(covered);
            self.consolidated.insert(id.clone(), paths);
        }
        for path in listed.values().flatten() {
            if !self.tables.contains_key(path) && self.readable(path) && !self.read_table(backend, path)? {
                return Ok(false);
            }
        }
        self.listed = listed;
        self.index_listing = indexes;
        self.note_alone(&alone);
        self.loaded = true;
        self.rebuild();
        Ok(true)
    }

    /// The packs of a bucket's listing (`list_sized` of `packs/<b>`) whose tables this index
    /// has not read and can: what [`Index::merge_bucket`] needs read first.
    pub(super) fn unread(&self, listing: &Listing) -> Vec<Arc<str>> {
        listing
            .iter()
            .filter(|(path, size)| size.is_some() && !self.tables.contains_key(path))
            .map(|(path, _)| path.clone())
            .collect()
    }

    /// Takes in a bucket's listing and the tables read for it (see [`bucket_listing`]);
    /// `complete` says every unread pack could be read. Packs only come and go in a compaction:
    /// otherwise the new ones are simply added, without going over every result again.
    pub(super) fn merge_bucket(
        &mut self,
        bucket: u8,
        listing: Listing,
        read: Vec<(Arc<str>, Vec<Entry>)>,
        complete: bool,
    ) {
        let mut paths = Vec::with_capacity(listing.len());
        for (path, size) in listing {
            self.pack_sizes.insert(path.clone(), size);
            paths.push(path);
        }
        for (path, entries) in read {
            self.tables.insert(path, entries.into());
        }
        if !complete {
            return;
        }
        let before = self.listed.insert(bucket, paths.clone()).unwrap_or_default();
        if before.iter().all(|p| paths.contains(p)) {
            for path in paths.iter().filter(|p| !before.contains(p)) {
                self.add_places(path);
            }
        } else {
            self.rebuild();
        }
    }

    /// The results stored alone, as listed: `results/<b>/<key>` with its size.
    fn note_alone(&mut self, listing: &[(String, Option<u64>)]) {
        let (mut alone, mut unsound) = (HashSet::new(), HashSet::new());
        for (path, size) in listing {
            let Some((_, name)) = path.split_once('/') else { continue };
            let Some(key) = Key::from_hex(name) else { continue };
            match size {
                Some(size) if *size >= envelope::HEADER_LEN as u64 => alone.insert(key),
                _ => unsound.insert(key),
            };
        }
        let new = unsound.iter().filter(|k| !self.unsound.contains(k)).count();
        if let Some(key) = unsound.iter().find(|k| !self.unsound.contains(k)) {
            let hex = key.to_hex();
            tracing::warn!(
                "{new} stored result(s) are empty or unreadable (first: results/{}/{hex}); they count as \
                 missing, and execute computes them again",
                &hex[..2]
            );
        }
        (self.alone, self.unsound) = (alone, unsound);
    }

    /// Whether the listing saw a pack we can read: a dangling link or an unreadable file is
    /// not read, and holds nothing (see `live_entries`).
    fn readable(&self, path: &Arc<str>) -> bool {
        self.pack_sizes.get(path) != Some(&None)
    }

    /// The live entries of a pack, or none if any entry ends past its listed size: a pack cut
    /// short holds nothing, as when its table is read (`pack::entries`). This is what catches
    /// one that a consolidated index describes, or that was cut after its table was read.
    fn live_entries<'a>(&'a self, path: &'a Arc<str>) -> impl Iterator<Item = &'a Entry> + 'a {
        let table = self.tables.get(path).map(|t| &t[..]).unwrap_or_default();
        // Our own packs are not listed: their size is what we wrote.
        let size = self.pack_sizes.get(path).map(|size| size.unwrap_or(0));
        let whole = table.iter().all(|e| size.is_none_or(|n| e.offset.saturating_add(e.len) <= n));
        let table = if whole { table } else { &[] };
        table.iter().filter(move |e| !self.dead.contains(&(path.clone(), e.key)))
    }

    /// Reads a pack's entry table; `false` if the pack is gone.
    fn read_table(&mut self, backend: &dyn Backend, path: &Arc<str>) -> Result<bool, StoreError> {
        let Some(entries) = fetch_table(backend, path)? else { return Ok(false) };
        self.tables.insert(path.clone(), entries.into());
        Ok(true)
    }

    fn rebuild(&mut self) {
        self.dead = self.tombstone_files.values().flat_map(|t| t.dead.iter()).cloned().collect();
        self.revoked = self.tombstone_files.values().flat_map(|t| t.revoked.iter()).copied().collect();
        let mut places: HashMap<Key, Place> = self.alone.iter().map(|k| (*k, Place::Alone)).collect();
        let mut packs: Vec<&Arc<str>> = self.listed.values().flatten().collect();
        // Of two packs holding a key (a duplicate run), the older one's copy is the one read.
        packs.sort_by(|a, b| b.cmp(a));
        for path in packs {
            for e in self.live_entries(path) {
                places.insert(e.key, Place::Packed { pack: path.clone(), offset: e.offset, len: e.len });
            }
        }
        self.places = places;
    }

    /// Adds the live entries of one more pack to `places`, leaving a key already placed.
    fn add_places(&mut self, path: &Arc<str>) {
        let places: Vec<(Key, Place)> = self
            .live_entries(path)
            .map(|e| (e.key, Place::Packed { pack: path.clone(), offset: e.offset, len: e.len }))
            .collect();
        for (key, place) in places {
            self.places.entry(key).or_insert(place);
        }
    }

    pub(super) fn place(&self, key: &Key) -> Option<&Place> {
        self.places.get(key)
    }

    pub(super) fn keys(&self) -> impl Iterator<Item = &Key> {
        self.places.keys()
    }

    /// Whether any of `keys` has a result, in this bucket's view.
    pub(super) fn contains(&self, key: &Key) -> bool {
        self.places.contains_key(key)
    }

    /// A pack this process just wrote.
    pub(super) fn add_pack(&mut self, path: Arc<str>, entries: Vec<Entry>) {
        let bucket = entries.first().map(|e| bucket_of(&e.key)).unwrap_or(0);
        for e in &entries {
            self.places.entry(e.key).or_insert(Place::Packed {
                pack: path.clone(),
                offset: e.offset,
                len: e.len,
            });
        }
        self.tables.insert(path.clone(), entries.into());
        self.listed.entry(bucket).or_default().push(path.clone());
        self.own.push(path);
    }

    pub(super) fn add_alone(&mut self, key: Key) {
        self.alone.insert(key);
        self.places.entry(key).or_insert(Place::Alone);
    }

    /// Every live entry of every listed pack (names and traces for `cleanup` and early
    /// cutoff), without the traces revoked.
    pub(super) fn entries(&self) -> impl Iterator<Item = Entry> {
        self.listed.values().flatten().flat_map(move |path| {
            let table = self.tables.get(path).into_iter().flat_map(|t| t.iter());
            table
                .filter(move |e| !self.dead.contains(&(path.clone(), e.key)))
                .map(|e| Entry { trace: e.trace.filter(|t| !self.revoked.contains(t)), ..e.clone() })
        })
    }

    /// The `(pack, key)` entries that hold `key`, dead ones excluded.
    pub(super) fn packed_at(&self, key: &Key) -> Vec<Arc<str>> {
        let bucket = bucket_of(key);
        let paths = self.listed.get(&bucket).into_iter().flatten();
        paths
            .filter(|path| self.tables.get(*path).is_some_and(|t| t.iter().any(|e| e.key == *key)))
            .filter(|path| !self.dead.contains(&((*path).clone(), *key)))
            .cloned()
            .collect()
    }

    /// Whether the listing saw an unsound result stored alone for `key` (see `note_alone`).
    pub(super) fn is_unsound(&self, key: &Key) -> bool {
        self.unsound.contains(key)
    }

    pub(super) fn forget_unsound(&mut self, key: &Key) {
        self.unsound.remove(key);
    }

    pub(super) fn is_alone(&self, key: &Key) -> bool {
        self.alone.contains(key)
    }

    pub(super) fn forget_alone(&mut self, key: &Key) {
        self.alone.remove(key);
        if self.places.get(key) == Some(&Place::Alone) {
            self.places.remove(key);
        }
    }

    /// Tombstones written by this process.
    pub(super) fn add_tombstones(&mut self, id: String, tombstones: Tombstones) {
        self.tombstone_files.insert(id, tombstones);
        self.rebuild();
    }

    /// Every listed pack with its dead entries, and the tombstone files.
    pub(super) fn listed_packs(&self) -> Vec<Arc<str>> {
        self.listed.values().flatten().cloned().collect()
    }

    pub(super) fn table(&self, path: &Arc<str>) -> Option<&Arc<[Entry]>> {
        self.tables.get(path)
    }

    pub(super) fn is_dead(&self, path: &Arc<str>, key: &Key) -> bool {
        self.dead.contains(&(path.clone(), *key))
    }

    pub(super) fn tombstone_ids(&self) -> Vec<(String, Tombstones)> {
        self.tombstone_files.iter().map(|(id, e)| (id.clone(), e.clone())).collect()
    }

    /// The consolidated indexes the last listing showed.
    pub(super) fn index_listing(&self) -> &[String] {
        &self.index_listing
    }

    /// Listed packs that no consolidated index covers.
    pub(super) fn uncovered(&self) -> usize {
        let covered: HashSet<&Arc<str>> = self.consolidated.values().flatten().collect();
        self.listed.values().flatten().filter(|p| !covered.contains(p)).count()
    }

    /// Packs this handle wrote since its last consolidated index.
    pub(super) fn own_packs(&self) -> Vec<Arc<str>> {
        self.own.clone()
    }

    /// A consolidated index this handle wrote; with `merge`, it replaced every other.
    pub(super) fn note_consolidated(&mut self, id: String, packs: Vec<Arc<str>>, merge: bool) {
        if merge {
            self.consolidated.clear();
            self.index_listing.clear();
        }
        self.consolidated.insert(id.clone(), packs);
        self.index_listing.push(id);
        self.own.clear();
    }
}

/// A bucket's packs as listed, by full path, with their sizes.
pub(super) fn bucket_listing(backend: &dyn Backend, bucket: u8) -> Result<Listing, StoreError> {
    let prefix = format!("packs/{bucket:02x}");
    Ok(backend
        .list_sized(&prefix)?
        .into_iter()
        .map(|(path, size)| (Arc::from(format!("{prefix}/{path}")), size))
        .collect())
}

/// A pack's entry table, or `None` if the pack is gone. A damaged pack is reported and holds
/// nothing.
pub(super) fn fetch_table(backend: &dyn Backend, path: &str) -> Result<Option<Vec<Entry>>, StoreError> {
    let Some(mut bytes) = backend.get_range(path, 0..pack::FIRST_READ)? else { return Ok(None) };
    // Fewer bytes than asked for: that is the whole pack, and its length bounds the entries.
    let pack_len = (bytes.len() < pack::FIRST_READ as usize).then_some(bytes.len() as u64);
    if let pack::Header::Sound { table_len, .. } = pack::header(&bytes) {
        let needed = (pack::HEADER_LEN + table_len) as u64;
        if needed > bytes.len() as u64 {
            let Some(rest) = backend.get_range(path, bytes.len() as u64..needed)? else {
                return Ok(None);
            };
            bytes.extend_from_slice(&rest);
        }
    }
    Ok(Some(match pack::header(&bytes) {
        pack::Header::OtherVersion(version) => {
            tracing::warn!("{path} is a pack of format {version}, written by another jug-host; left alone");
            Vec::new()
        }
        _ => pack::entries(&bytes, pack_len).unwrap_or_else(|| {
            tracing::warn!("{path} is damaged; the results it held will be computed again");
            Vec::new()
        }),
    }))
}

fn parse_bucket(text: &str) -> Option<u8> {
    (text.len() == 2).then(|| u8::from_str_radix(text, 16).ok()).flatten()
}

pub(super) fn encode_tombstones(tombstones: &Tombstones) -> Vec<u8> {
    let dead = tombstones.dead.iter().map(|(pack, key)| format!("{pack} {}\n", key.to_hex()));
    let revoked = tombstones.revoked.iter().map(|trace| format!("trace {}\n", trace.to_hex()));
    dead.chain(revoked).collect::<String>().into_bytes()
}

fn decode_tombstones(bytes: &[u8]) -> Tombstones {
    let mut tombstones = Tombstones::default();
    for line in String::from_utf8_lossy(bytes).lines() {
        let Some((first, key)) = line.split_once(' ') else { continue };
        let Some(key) = Key::from_hex(key) else { continue };
        match first {
            "trace" => tombstones.revoked.push(key),
            pack => tombstones.dead.push((Arc::from(pack), key)),
        }
    }
    tombstones
}

const INDEX_MAGIC: &[u8; 4] = b"JUGI";

/// Packs, each with its entry table: what a consolidated index holds.
pub(super) type Tables = Vec<(Arc<str>, Arc<[Entry]>)>;

/// A consolidated index: per pack, its path and entry table; then a blake3 of all before it.
pub(super) fn encode_consolidated(packs: &[(Arc<str>, Arc<[Entry]>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(INDEX_MAGIC);
    out.extend_from_slice(&[1, 0, 0, 0]);
    out.extend_from_slice(&(packs.len() as u32).to_le_bytes());
    for (path, entries) in packs {
        let table = pack::encode_table(entries);
        out.extend_from_slice(&(path.len() as u16).to_le_bytes());
        out.extend_from_slice(path.as_bytes());
        out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
        out.extend_from_slice(&(table.len() as u32).to_le_bytes());
        out.extend_from_slice(&table);
    }
    let digest = blake3::hash(&out);
    out.extend_from_slice(digest.as_bytes());
    out
}

fn decode_consolidated(bytes: &[u8]) -> Option<Tables> {
    let (body, digest) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
    if blake3::hash(body).as_bytes() != digest
        || body.get(..8)? != [INDEX_MAGIC.as_slice(), &[1, 0, 0, 0]].concat()
    {
        return None;
    }
    let mut rest = &body[8..];
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, tail) = rest.split_at_checked(n)?;
        rest = tail;
        Some(head)
    };
    let u32_of = |b: &[u8]| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize;
    let count = u32_of(take(4)?);
    let mut packs = Vec::with_capacity(count.min(1 << 20));
    for _ in 0..count {
        let path_len = u16::from_le_bytes(take(2)?.try_into().ok()?) as usize;
        let path: Arc<str> = Arc::from(std::str::from_utf8(take(path_len)?).ok()?);
        let entries = u32_of(take(4)?);
        let table_len = u32_of(take(4)?);
        let table = pack::decode_table(take(table_len)?, entries)?;
        packs.push((path, table.into()));
    }
    Some(packs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consolidated_indexes_and_tombstones_read_back() {
        let entry = |k: u8| Entry { key: Key([k; 32]), offset: 48, len: 5, name: "g.f".into(), trace: None };
        let packs: Tables = vec![
            (Arc::from("packs/01/a"), vec![entry(1), entry(2)].into()),
            (Arc::from("packs/02/b"), vec![entry(3)].into()),
        ];
        let bytes = encode_consolidated(&packs);
        assert_eq!(decode_consolidated(&bytes).unwrap(), packs);
        let mut damaged = bytes.clone();
        damaged[20] ^= 1;
        assert!(decode_consolidated(&damaged).is_none());

        let tombstones =
            Tombstones { dead: vec![(Arc::from("packs/01/a"), Key([1; 32]))], revoked: vec![Key([7; 32])] };
        assert_eq!(decode_tombstones(&encode_tombstones(&tombstones)), tombstones);
        assert_eq!(decode_tombstones(b"garbage\npacks/x zz\n"), Tombstones::default());
    }
}
