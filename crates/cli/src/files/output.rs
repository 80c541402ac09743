//! Outputs that appear only when complete: a temporary file beside the target, renamed into place
//! after everything was written and flushed (and, for decryption, verified). Dropping an
//! uncommitted output deletes the temporary file, so a failed run leaves nothing behind.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// A file being written under a temporary name.
pub struct AtomicFile {
    file: Option<File>,
    tmp: PathBuf,
    target: PathBuf,
    writeback: Writeback,
}

/// Starts writing dirty pages to disk while the file is still being written, so that the final
/// fsync has little left to do: after every [`WRITEBACK_STEP`] bytes, an `fdatasync` runs on a
/// second handle in a background thread (at most one at a time). Without it the kernel starts
/// writeback only once gigabytes are dirty and `commit` then waits for all of them.
struct Writeback {
    since_last: u64,
    running: Option<std::thread::JoinHandle<io::Result<()>>>,
}

/// Bytes written between two background flushes.
const WRITEBACK_STEP: u64 = 64 << 20;

impl Writeback {
    fn wrote(&mut self, file: &File, n: usize) {
        self.since_last += n as u64;
        if self.since_last < WRITEBACK_STEP {
            return;
        }
        if self.running.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        self.since_last = 0;
        // A failed flush here is not an error: commit's fsync reports what matters.
        let _ = self.running.take().map(std::thread::JoinHandle::join);
        if let Ok(clone) = file.try_clone() {
            self.running = Some(std::thread::spawn(move || clone.sync_data()));
        }
    }

    fn finish(&mut self) {
        let _ = self.running.take().map(std::thread::JoinHandle::join);
    }
}

impl AtomicFile {
    /// Starts `target` (refused if it exists and `force` is off). `mode` is the new file's mode.
    pub fn create(target: &Path, force: bool, mode: u32) -> io::Result<Self> {
        if !force && target.symlink_metadata().is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists (use --force to replace it)", target.display()),
            ));
        }
        let tmp = temp_name(target);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(mode)
            .open(&tmp)?;
        Ok(Self {
            file: Some(file),
            tmp,
            target: target.to_owned(),
            writeback: Writeback {
                since_last: 0,
                running: None,
            },
        })
    }

    /// The open temporary file.
    pub fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("output already committed"))
    }

    /// Flushes to disk and renames into place.
    pub fn commit(mut self) -> io::Result<()> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("output already committed"))?;
        self.writeback.finish();
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.tmp, &self.target)?;
        sync_parent(&self.target)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("output already committed"))?;
        let n = file.write(buf)?;
        self.writeback.wrote(file, n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// `dir/.name.keywarden-<random>.tmp` beside `target`.
pub fn temp_name(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    dir.join(format!(".{name}.keywarden-{}.tmp", uuid_like()))
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{}-{}-{nanos:08x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Fsyncs the directory holding `path` so a rename is durable.
pub fn sync_parent(path: &Path) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)?.sync_all()
}

/// A writer to stdout, to an atomic file, or to a pipe or device.
pub enum Output {
    /// Standard output (`-o -`): written as it goes.
    Stdout(io::Stdout),
    /// A file that appears on commit.
    File(AtomicFile),
    /// A FIFO or device named on the command line (with `--force`, or `/dev/null`), written as
    /// it goes.
    Device(File),
}

/// What an output path names, from `lstat`: a symbolic link is reported as such, never followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Existing {
    /// Nothing: the output is created.
    Nothing,
    /// A regular file: replaced only with `--force`.
    Regular,
    /// A directory: refused.
    Directory,
    /// `/dev/null`: written to as is; nothing is replaced, nothing reaches anyone.
    Null,
    /// A symbolic link, FIFO, device or socket: written to only with `--force`.
    Special(Special),
}

/// The kinds of [`Existing::Special`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Special {
    Symlink,
    Fifo,
    CharDevice,
    BlockDevice,
    Other,
}

impl Special {
    fn name(self) -> &'static str {
        match self {
            Special::Symlink => "symbolic link",
            Special::Fifo => "FIFO",
            Special::CharDevice => "character device",
            Special::BlockDevice => "block device",
            Special::Other => "special file",
        }
    }
}

impl Existing {
    fn of(path: &Path) -> io::Result<Self> {
        use std::os::unix::fs::FileTypeExt;
        let meta = match path.symlink_metadata() {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Existing::Nothing),
            Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        };
        let kind = meta.file_type();
        Ok(if kind.is_file() {
            Existing::Regular
        } else if kind.is_dir() {
            Existing::Directory
        } else if kind.is_char_device() && path == Path::new("/dev/null") {
            Existing::Null
        } else if kind.is_symlink() {
            Existing::Special(Special::Symlink)
        } else if kind.is_fifo() {
            Existing::Special(Special::Fifo)
        } else if kind.is_char_device() {
            Existing::Special(Special::CharDevice)
        } else if kind.is_block_device() {
            Existing::Special(Special::BlockDevice)
        } else {
            Existing::Special(Special::Other)
        })
    }
}

impl Output {
    /// Opens `-` as stdout and anything else by what `lstat` finds there (docs/FORMAT.md §5,
    /// "Outputs"): nothing, a new atomic file; a regular file, replaced atomically with `force`;
    /// `/dev/null`, as is; a symbolic link, FIFO or device, refused without `force`. With
    /// `force`, a FIFO or device is opened without following links (`O_NOFOLLOW`), and a link is
    /// followed if it names a FIFO or device (`/dev/stdout`), else replaced like a file.
    pub fn open(path: &Path, force: bool, mode: u32) -> io::Result<Self> {
        if path == Path::new("-") {
            return Ok(Output::Stdout(io::stdout()));
        }
        match Existing::of(path)? {
            Existing::Nothing | Existing::Regular => {
                Ok(Output::File(AtomicFile::create(path, force, mode)?))
            }
            Existing::Directory => Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} is a directory", path.display()),
            )),
            Existing::Null => open_device(path, false),
            Existing::Special(kind) if !force => Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists and is a {} (use --force to write to it; -o - writes to standard output)",
                    path.display(),
                    kind.name()
                ),
            )),
            Existing::Special(Special::Symlink) if !names_stream(path) => {
                Ok(Output::File(AtomicFile::create(path, true, mode)?))
            }
            Existing::Special(Special::Symlink) => open_device(path, true),
            Existing::Special(_) => open_device(path, false),
        }
    }

    /// Whether written bytes reach a reader at once (stdout, a pipe, a device) rather than
    /// appearing on commit: a format whose tag comes last must not be written here before it
    /// verified.
    pub fn is_stream(&self) -> bool {
        !matches!(self, Output::File(_))
    }

    /// Completes the output.
    pub fn commit(self) -> io::Result<()> {
        match self {
            Output::Stdout(mut s) => s.flush(),
            Output::File(f) => f.commit(),
            Output::Device(mut d) => d.flush(),
        }
    }
}

/// Whether `link` resolves to something other than a regular file or directory.
fn names_stream(link: &Path) -> bool {
    link.metadata().is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Opens an existing FIFO or device for writing; `follow` only for a link the caller checked.
fn open_device(path: &Path, follow: bool) -> io::Result<Output> {
    let mut options = OpenOptions::new();
    options.write(true);
    if !follow {
        options.custom_flags(libc::O_NOFOLLOW);
    }
    let file = options
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    if file.metadata()?.is_file() {
        return Err(io::Error::other(format!(
            "{} became a regular file while being opened",
            path.display()
        )));
    }
    Ok(Output::Device(file))
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Stdout(s) => s.write(buf),
            Output::File(f) => f.write(buf),
            Output::Device(d) => d.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Output::Stdout(s) => s.write_all(buf),
            Output::File(f) => f.write_all(buf),
            Output::Device(d) => d.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(s) => s.flush(),
            Output::File(f) => f.flush(),
            Output::Device(d) => d.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appears_only_on_commit_and_never_replaces_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let mut f = AtomicFile::create(&target, false, 0o600).unwrap();
        f.file().unwrap().write_all(b"data").unwrap();
        assert!(!target.exists());
        f.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"data");
        assert!(AtomicFile::create(&target, false, 0o600).is_err());
        let mut g = AtomicFile::create(&target, true, 0o600).unwrap();
        g.file().unwrap().write_all(b"partial").unwrap();
        drop(g);
        assert_eq!(
            std::fs::read(&target).unwrap(),
            b"data",
            "dropped output leaves the old file"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }
}
