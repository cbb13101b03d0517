//! A spool: byte records appended one after another and read back once, in order, at the end,
//! held on disk in an anonymous temporary file (in the system's temporary folder, `TMPDIR` on
//! Unix) so that a run over millions of records keeps only a block of them in memory. A block
//! that cannot be written stays in memory: a full disk costs memory, never a result.

use std::fs::File;
use std::io;
use std::sync::Arc;

/// Records are gathered into blocks of about this many bytes before a block is written.
/// (Unit tests use a small size, so that their runs write and read many blocks.)
const BLOCK_BYTES: usize = if cfg!(test) { 256 } else { 1 << 20 };

enum Block {
    OnDisk { start: u64, len: usize },
    InMemory(Vec<u8>),
}

/// An anonymous temporary file that blocks are appended to, created at the first append, and
/// read back by position. When it cannot be created or written, [`append`](Self::append) says
/// so and the caller keeps the block in memory.
#[derive(Default)]
struct TempFile {
    file: Option<Arc<File>>,
    written: u64,
    /// Takes no more blocks: the file could not be created, or this is a reading copy.
    closed: bool,
}

impl TempFile {
    /// Appends a block; where it starts in the file.
    fn append(&mut self, block: &[u8]) -> io::Result<u64> {
        if self.file.is_none() && !self.closed {
            match tempfile::tempfile() {
                Ok(f) => self.file = Some(Arc::new(f)),
                Err(e) => {
                    self.closed = true;
                    return Err(e);
                }
            }
        }
        let Some(file) = self.file.as_ref().filter(|_| !self.closed) else {
            return Err(io::Error::other("no temporary file"));
        };
        let start = self.written;
        write_all_at(file, block, start)?;
        self.written = start + block.len() as u64;
        Ok(start)
    }

    /// A copy that reads what was written and appends nothing: its file's end is the
    /// original's.
    fn reading_copy(&self) -> TempFile {
        TempFile {
            file: self.file.clone(),
            written: self.written,
            closed: true,
        }
    }

    fn file(&self) -> io::Result<&Arc<File>> {
        self.file
            .as_ref()
            .ok_or_else(|| io::Error::other("no temporary file"))
    }
}

/// Byte records, in the order they were pushed.
#[derive(Default)]
pub(crate) struct Spool {
    blocks: Vec<Block>,
    current: Vec<u8>,
    file: TempFile,
}

impl Spool {
    /// Appends a record made of `parts`, end to end.
    pub fn push(&mut self, parts: &[&[u8]]) {
        push_record(&mut self.current, parts);
        if self.current.len() >= BLOCK_BYTES {
            self.seal();
        }
    }

    /// Ends the current block: written to the file, or kept in memory when it cannot be.
    fn seal(&mut self) {
        let block = std::mem::take(&mut self.current);
        if block.is_empty() {
            return;
        }
        match self.file.append(&block) {
            Ok(start) => {
                self.blocks.push(Block::OnDisk {
                    start,
                    len: block.len(),
                });
                // The next block reuses the memory.
                self.current = block;
                self.current.clear();
            }
            Err(_) => self.blocks.push(Block::InMemory(block)),
        }
    }

    /// Every record in the order pushed, handed to `each`; an error only when the temporary
    /// file cannot be read back.
    pub fn for_each(&self, mut each: impl FnMut(&[u8])) -> io::Result<()> {
        let mut buf = Vec::new();
        for block in self.blocks.iter().map(Some).chain([None]) {
            let bytes: &[u8] = match block {
                Some(Block::OnDisk { start, len }) => {
                    buf.resize(*len, 0);
                    read_exact_at(self.file.file()?, &mut buf, *start)?;
                    &buf
                }
                Some(Block::InMemory(bytes)) => bytes,
                None => &self.current,
            };
            let mut rest = bytes;
            while let Some((len, tail)) = rest.split_first_chunk::<4>() {
                let len = u32::from_le_bytes(*len) as usize;
                let (record, tail) = tail
                    .split_at_checked(len)
                    .ok_or_else(|| io::Error::other("a record runs past its block"))?;
                each(record);
                rest = tail;
            }
        }
        Ok(())
    }
}

/// Sorted runs: each a sequence of byte records written at once, read back side by side (for a
/// merge), any number of times. A run that cannot be written stays in memory.
#[derive(Default)]
pub(crate) struct Runs {
    file: TempFile,
    runs: Vec<RunBlock>,
}

#[derive(Clone)]
enum RunBlock {
    OnDisk { start: u64, end: u64 },
    InMemory(Arc<Vec<u8>>),
}

impl Clone for Runs {
    /// A clone reads the same runs; a run it adds stays in memory.
    fn clone(&self) -> Runs {
        Runs {
            file: self.file.reading_copy(),
            runs: self.runs.clone(),
        }
    }
}

impl std::fmt::Debug for Runs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Runs({})", self.runs.len())
    }
}

impl Runs {
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Adds a run: its records, each preceded by its length as written by [`push_record`].
    pub fn push(&mut self, bytes: Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        match self.file.append(&bytes) {
            Ok(start) => self.runs.push(RunBlock::OnDisk {
                start,
                end: start + bytes.len() as u64,
            }),
            Err(_) => self.runs.push(RunBlock::InMemory(Arc::new(bytes))),
        }
    }

    /// A reader of each run, in the order they were added.
    pub fn readers(&self) -> Vec<RunRecords> {
        self.runs
            .iter()
            .map(|run| match run {
                RunBlock::OnDisk { start, end } => RunRecords::Disk(io::BufReader::with_capacity(
                    1 << 16,
                    At {
                        file: self.file.file.clone(),
                        at: *start,
                        end: *end,
                    },
                )),
                RunBlock::InMemory(bytes) => RunRecords::Memory(bytes.clone(), 0),
            })
            .collect()
    }
}

/// Appends a record to a run being built: its length, then its bytes.
pub(crate) fn push_record(run: &mut Vec<u8>, parts: &[&[u8]]) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    run.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
    for p in parts {
        run.extend_from_slice(p);
    }
}

/// The records of one run, read in order.
pub(crate) enum RunRecords {
    Disk(io::BufReader<At>),
    Memory(Arc<Vec<u8>>, usize),
}

impl RunRecords {
    /// The next record into `buf`; `false` at the end of the run.
    pub fn next_into(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        buf.clear();
        match self {
            RunRecords::Memory(bytes, at) => {
                let rest = bytes.get(*at..).unwrap_or_default();
                let Some((len, tail)) = rest.split_first_chunk::<4>() else {
                    return Ok(false);
                };
                let len = u32::from_le_bytes(*len) as usize;
                let record = tail
                    .get(..len)
                    .ok_or_else(|| io::Error::other("a record runs past its run"))?;
                buf.extend_from_slice(record);
                *at += 4 + len;
                Ok(true)
            }
            RunRecords::Disk(reader) => {
                let mut len = [0u8; 4];
                match io::Read::read_exact(reader, &mut len) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
                    Err(e) => return Err(e),
                }
                buf.resize(u32::from_le_bytes(len) as usize, 0);
                io::Read::read_exact(reader, buf)?;
                Ok(true)
            }
        }
    }
}

/// Reads a stretch of the runs' file by position, so that several runs are read side by side.
pub(crate) struct At {
    file: Option<Arc<File>>,
    at: u64,
    end: u64,
}

impl io::Read for At {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end.saturating_sub(self.at)).unwrap_or(usize::MAX);
        let Some(buf) = buf.get_mut(..buf.len().min(left)) else {
            return Ok(0);
        };
        let Some(file) = &self.file else {
            return Ok(0);
        };
        if buf.is_empty() {
            return Ok(0);
        }
        let n = read_at(file, buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// Reads little-endian numbers and length-prefixed bytes off the front of a record.
pub(crate) struct Cursor<'a>(pub &'a [u8]);

impl<'a> Cursor<'a> {
    pub fn u8(&mut self) -> Option<u8> {
        let (n, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*n)
    }

    pub fn u32(&mut self) -> Option<u32> {
        let (n, rest) = self.0.split_first_chunk::<4>()?;
        self.0 = rest;
        Some(u32::from_le_bytes(*n))
    }

    pub fn u64(&mut self) -> Option<u64> {
        let (n, rest) = self.0.split_first_chunk::<8>()?;
        self.0 = rest;
        Some(u64::from_le_bytes(*n))
    }

    /// Bytes preceded by their length (a `u32`).
    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        let (b, rest) = self.0.split_at_checked(len)?;
        self.0 = rest;
        Some(b)
    }
}

pub(crate) fn write_all_at(file: &File, mut buf: &[u8], mut at: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match write_at(file, buf, at) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf = buf.get(n..).unwrap_or_default();
                at += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn read_exact_at(file: &File, mut buf: &mut [u8], mut at: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match read_at(file, buf, at) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = std::mem::take(&mut buf).get_mut(n..).unwrap_or_default();
                at += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(unix)]
pub(crate) fn write_at(file: &File, buf: &[u8], at: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::write_at(file, buf, at)
}

#[cfg(unix)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, at)
}

#[cfg(windows)]
pub(crate) fn write_at(file: &File, buf: &[u8], at: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_write(file, buf, at)
}

#[cfg(windows)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, at)
}

#[cfg(not(any(unix, windows)))]
pub(crate) fn write_at(_: &File, _: &[u8], _: u64) -> io::Result<usize> {
    Err(io::Error::other("no positional writes on this platform"))
}

#[cfg(not(any(unix, windows)))]
pub(crate) fn read_at(_: &File, _: &mut [u8], _: u64) -> io::Result<usize> {
    Err(io::Error::other("no positional reads on this platform"))
}

#[cfg(test)]
mod tests {
    use super::{push_record, Cursor, RunBlock, Runs, Spool, BLOCK_BYTES};

    #[test]
    fn records_come_back_in_the_order_pushed_across_many_blocks() {
        let mut spool = Spool::default();
        let n = BLOCK_BYTES * 3;
        for i in 0..n as u64 {
            let text = "x".repeat((i % 7) as usize);
            spool.push(&[
                &i.to_le_bytes(),
                &(text.len() as u32).to_le_bytes(),
                text.as_bytes(),
            ]);
        }
        assert!(spool.blocks.len() > 2, "{} blocks", spool.blocks.len());
        let mut got = Vec::new();
        spool
            .for_each(|r| {
                let mut c = Cursor(r);
                let i = c.u64().expect("number");
                let text = c.bytes().expect("text");
                assert_eq!(text.len() as u64, i % 7);
                assert!(c.0.is_empty());
                got.push(i);
            })
            .expect("read back");
        assert_eq!(got, (0..n as u64).collect::<Vec<_>>());
    }

    #[test]
    fn runs_are_read_side_by_side_from_disk_and_from_memory() {
        let mut runs = Runs::default();
        for r in 0..3u32 {
            let mut run = Vec::new();
            for i in 0..100u32 {
                push_record(&mut run, &[&r.to_le_bytes(), &i.to_le_bytes()]);
            }
            runs.push(run);
            if r == 1 {
                // The third run cannot be written: it stays in memory.
                runs.file.closed = true;
            }
        }
        assert!(matches!(runs.runs[0], RunBlock::OnDisk { .. }));
        assert!(matches!(runs.runs[2], RunBlock::InMemory(_)));
        for _ in 0..2 {
            let mut readers = runs.readers();
            let mut buf = Vec::new();
            for i in 0..100u32 {
                for (r, reader) in readers.iter_mut().enumerate() {
                    assert!(reader.next_into(&mut buf).expect("read"));
                    let mut c = Cursor(&buf);
                    assert_eq!((c.u32(), c.u32()), (Some(r as u32), Some(i)));
                }
            }
            assert!(readers
                .iter_mut()
                .all(|r| !r.next_into(&mut buf).expect("read")));
        }
    }

    #[test]
    fn a_spool_that_cannot_write_its_file_keeps_its_blocks_in_memory() {
        let mut spool = Spool {
            file: super::TempFile {
                closed: true,
                ..Default::default()
            },
            ..Spool::default()
        };
        for i in 0..1000u32 {
            spool.push(&[&i.to_le_bytes()]);
        }
        assert!(spool.file.file.is_none());
        let mut got = Vec::new();
        spool
            .for_each(|r| got.push(Cursor(r).u32().expect("number")))
            .expect("read back");
        assert_eq!(got, (0..1000).collect::<Vec<_>>());
    }
}
