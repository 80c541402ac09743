//! End-to-end: where `keywarden decrypt` (and `encrypt`) may write, and what a reader of a pipe,
//! a FIFO, `/dev/stdout` or a terminal can see when a file fails verification.
//!
//! Every fault is reproduced for real: FIFOs made with `mkfifo` and read by a thread, symbolic
//! links to them, a pseudo-terminal from util-linux `script`, seed files whose tag fails, and
//! trees where two inputs map to one output name. The rule under test (docs/FORMAT.md §5, §8):
//! no byte that has not been authenticated ever reaches a reader.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{Server, field};

/// Recognisable plaintext: any forged copy of it (one bit off somewhere) still contains the marker.
const MARKER: &[u8] = b"TOP-SECRET-PLAINTEXT-";

fn marked_plaintext(path: &Path) -> Vec<u8> {
    let data: Vec<u8> = MARKER.iter().copied().cycle().take(200_000).collect();
    std::fs::write(path, &data).unwrap();
    data
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn new_key(server: &Server, alias: &str) {
    let k = server.kms("CreateKey", &[]);
    let id = field(&k, "KeyMetadata.KeyId");
    server.kms("CreateAlias", &["--AliasName", alias, "--KeyId", &id]);
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs the CLI with stdout and stderr captured, killed after two minutes (a hang is a failure).
fn run(server: &Server, args: &[&str]) -> Output {
    let mut child = Command::new(common::bin())
        .args(args)
        .env("KEYWARDEN_CONFIG", &server.config)
        .env_remove("KEYWARDEN_ENDPOINT")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_ID")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        .env_remove("KEYWARDEN_CA_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            r.read_to_end(&mut v).unwrap();
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("keywarden {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fails_with(out: &Output, code: i32, message: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(stderr.contains(message), "expected {message:?} in {stderr}");
}

/// A FIFO with a reader thread collecting everything written to it.
struct Fifo {
    path: PathBuf,
    reader: Option<JoinHandle<Vec<u8>>>,
}

impl Fifo {
    fn new(path: PathBuf) -> Fifo {
        assert!(
            Command::new("mkfifo")
                .arg(&path)
                .status()
                .unwrap()
                .success()
        );
        let mut fifo = Fifo { path, reader: None };
        fifo.listen();
        fifo
    }

    /// Starts a reader (blocked in `open` until a writer comes).
    fn listen(&mut self) {
        let path = self.path.clone();
        self.reader = Some(std::thread::spawn(move || {
            let mut v = Vec::new();
            std::fs::File::open(&path)
                .unwrap()
                .read_to_end(&mut v)
                .unwrap();
            v
        }));
    }

    /// Everything the reader got. Once the writer under test is gone, a writer is opened and
    /// closed here (non-blocking), so a reader that nobody wrote to sees end-of-file.
    fn received(&mut self) -> Vec<u8> {
        let reader = self.reader.take().unwrap();
        while !reader.is_finished() {
            let opened = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&self.path);
            if opened.is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        reader.join().unwrap()
    }
}

/// A seed file (of [`marked_plaintext`]) and a copy whose ciphertext line was modified, so that
/// its forged plaintext decrypts fine but the tag fails.
struct SeedFiles {
    plain: Vec<u8>,
    good: PathBuf,
    tampered: PathBuf,
}

fn seed_files(server: &Server, dir: &Path) -> SeedFiles {
    new_key(server, "alias/out");
    let plain_path = dir.join("plain");
    let plain = marked_plaintext(&plain_path);
    let good = dir.join("good.seed");
    ok(&run(
        server,
        &[
            "encrypt",
            "--format",
            "seed",
            "--key-id",
            "alias/out",
            s(&plain_path),
            "-o",
            s(&good),
        ],
    ));
    let text = std::fs::read_to_string(&good).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 4);
    let mid = lines[2].len() / 2;
    let flipped = if &lines[2][mid..=mid] == "A" {
        "B"
    } else {
        "A"
    };
    lines[2].replace_range(mid..=mid, flipped);
    let tampered = dir.join("tampered.seed");
    std::fs::write(&tampered, lines.join("\n") + "\n").unwrap();
    SeedFiles {
        plain,
        good,
        tampered,
    }
}

const TAMPERED: &str = "authentication failed";

#[test]
fn a_tampered_seed_file_reaches_no_fifo_reader() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &[]);
    let seed = seed_files(&server, home.path());

    let mut fifo = Fifo::new(home.path().join("fifo"));
    let out = run(
        &server,
        &["decrypt", "--force", s(&seed.tampered), "-o", s(&fifo.path)],
    );
    fails_with(&out, 8, TAMPERED);
    let got = fifo.received();
    assert!(
        got.is_empty(),
        "{} unverified bytes reached the FIFO reader",
        got.len()
    );

    // The same FIFO gets the plaintext of the genuine file, after it verified.
    fifo.listen();
    ok(&run(
        &server,
        &["decrypt", "--force", s(&seed.good), "-o", s(&fifo.path)],
    ));
    assert_eq!(fifo.received(), seed.plain);
}

#[test]
fn links_fifos_and_devices_are_written_only_with_force() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &[]);
    let seed = seed_files(&server, home.path());
    let dir = home.path();
    let mut fifo = Fifo::new(dir.join("fifo"));
    let link = dir.join("link");
    std::os::unix::fs::symlink(&fifo.path, &link).unwrap();

    // Without --force: refused before anything is opened, whatever the format or command.
    let refusals = [
        (
            vec!["decrypt", s(&seed.good), "-o", s(&link)],
            "symbolic link",
        ),
        (vec!["decrypt", s(&seed.good), "-o", s(&fifo.path)], "FIFO"),
        (
            vec![
                "encrypt",
                "--key-id",
                "alias/out",
                s(&seed.good),
                "-o",
                s(&link),
            ],
            "symbolic link",
        ),
        (
            vec!["decrypt", s(&seed.good), "-o", "/dev/zero"],
            "character device",
        ),
    ];
    for (args, kind) in refusals {
        let out = run(&server, &args);
        fails_with(&out, 1, &format!("exists and is a {kind} (use --force"));
    }
    assert!(fifo.received().is_empty(), "nothing was written");
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());

    // With --force, a link to a FIFO is written through, and still only after verification.
    fifo.listen();
    let out = run(
        &server,
        &["decrypt", "--force", s(&seed.tampered), "-o", s(&link)],
    );
    fails_with(&out, 8, TAMPERED);
    assert!(
        fifo.received().is_empty(),
        "unverified bytes through a link"
    );
    fifo.listen();
    ok(&run(
        &server,
        &["decrypt", "--force", s(&seed.good), "-o", s(&link)],
    ));
    assert_eq!(fifo.received(), seed.plain);

    // /dev/null needs no --force: nothing is replaced and nobody reads it.
    ok(&run(
        &server,
        &["decrypt", s(&seed.good), "-o", "/dev/null"],
    ));

    // A link to a regular file is replaced (with --force) by the new file; its target is kept.
    let target = dir.join("target");
    std::fs::write(&target, b"keep").unwrap();
    let file_link = dir.join("file-link");
    std::os::unix::fs::symlink(&target, &file_link).unwrap();
    let out = run(&server, &["decrypt", s(&seed.good), "-o", s(&file_link)]);
    fails_with(&out, 1, "exists and is a symbolic link");
    ok(&run(
        &server,
        &["decrypt", "--force", s(&seed.good), "-o", s(&file_link)],
    ));
    assert!(file_link.symlink_metadata().unwrap().is_file());
    assert_eq!(std::fs::read(&file_link).unwrap(), seed.plain);
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
}

#[test]
fn a_tampered_seed_file_prints_nothing_on_stdout() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &[]);
    let seed = seed_files(&server, home.path());

    // stdout is a pipe here; /dev/stdout is a link to it.
    for target in ["-", "/dev/stdout"] {
        let out = run(
            &server,
            &["decrypt", "--force", s(&seed.tampered), "-o", target],
        );
        assert!(
            out.stdout.is_empty(),
            "-o {target}: {} unverified bytes on stdout",
            out.stdout.len()
        );
        fails_with(&out, 8, TAMPERED);
        let out = run(
            &server,
            &["decrypt", "--force", s(&seed.good), "-o", target],
        );
        ok(&out);
        assert_eq!(out.stdout, seed.plain, "-o {target}");
    }
    let out = run(&server, &["decrypt", s(&seed.good), "-o", "/dev/stdout"]);
    fails_with(&out, 1, "/dev/stdout exists and is a symbolic link");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_tampered_seed_file_prints_nothing_on_a_terminal() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &[]);
    let seed = seed_files(&server, home.path());
    // `script` runs the command on a pseudo-terminal and records everything it shows.
    let on_tty = |args: &str| -> (Option<i32>, Vec<u8>) {
        let log = home.path().join("typescript");
        let command = format!("{} decrypt {args} -o /dev/tty", common::bin().display());
        let status = Command::new("script")
            .args(["-qec", &command])
            .arg(&log)
            .env("KEYWARDEN_CONFIG", &server.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        (status.code(), std::fs::read(&log).unwrap())
    };
    let (code, shown) = on_tty(&format!("--force {}", s(&seed.tampered)));
    assert!(
        !contains(&shown, MARKER),
        "forged plaintext shown on the terminal"
    );
    assert_eq!(code, Some(8), "{}", String::from_utf8_lossy(&shown));
    assert!(contains(&shown, TAMPERED.as_bytes()));
    let (code, shown) = on_tty(s(&seed.good));
    assert_eq!(code, Some(1));
    assert!(contains(&shown, b"exists and is a character device"));
    let (code, shown) = on_tty(&format!("--force {}", s(&seed.good)));
    assert_eq!(code, Some(0), "{}", String::from_utf8_lossy(&shown));
    assert!(contains(&shown, MARKER));
}

#[test]
fn kenv_to_a_fifo_releases_only_verified_segments() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &[]);
    new_key(&server, "alias/out");
    let dir = home.path();
    const S: usize = 1 << 20;
    const HEADER: usize = 4096;
    let plain: Vec<u8> = (0..6 * S + 100).map(|i| (i * 7 + i / 4093) as u8).collect();
    std::fs::write(dir.join("plain"), &plain).unwrap();
    let enc = dir.join("enc.kenv");
    ok(&run(
        &server,
        &[
            "encrypt",
            "--key-id",
            "alias/out",
            s(&dir.join("plain")),
            "-o",
            s(&enc),
        ],
    ));
    let good = std::fs::read(&enc).unwrap();
    let mut fifo = Fifo::new(dir.join("fifo"));
    for bad_segment in [0usize, 5] {
        let mut bytes = good.clone();
        bytes[HEADER + bad_segment * (S + 16) + 10] ^= 0x40;
        let bad = dir.join("bad.kenv");
        std::fs::write(&bad, bytes).unwrap();
        let out = run(
            &server,
            &["decrypt", "--force", s(&bad), "-o", s(&fifo.path)],
        );
        fails_with(&out, 8, TAMPERED);
        let got = fifo.received();
        assert!(
            got.len() <= bad_segment * S && got.len() % S == 0,
            "segment {bad_segment}: {} bytes released",
            got.len()
        );
        assert_eq!(got, plain[..got.len()], "only verified segments, in order");
        fifo.listen();
    }
    // Random access opens only the segments its range touches, each verified before release:
    // the file with segment 5 tampered still serves a range in segment 1, and nothing from 5.
    let bad = dir.join("bad.kenv");
    let fifo_path = fifo.path.clone();
    let range_to_fifo = |offset: usize| {
        let offset = offset.to_string();
        run(
            &server,
            &[
                "decrypt",
                "--force",
                "--offset",
                &offset,
                "--length",
                "100",
                s(&bad),
                "-o",
                s(&fifo_path),
            ],
        )
    };
    ok(&range_to_fifo(S));
    assert_eq!(fifo.received(), plain[S..S + 100]);
    fifo.listen();
    fails_with(&range_to_fifo(5 * S), 8, TAMPERED);
    assert!(fifo.received().is_empty());
    fifo.listen();
    ok(&run(
        &server,
        &["decrypt", "--force", s(&enc), "-o", s(&fifo.path)],
    ));
    assert_eq!(fifo.received(), plain);
}

/// The names in `dir` that the CLI's temporary files would have.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("keywarden-"))
        .collect()
}

#[test]
fn trees_where_two_inputs_map_to_one_output_are_refused() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &[]);
    new_key(&server, "alias/out");
    let dir = home.path();
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("x"), b"from x.kenv").unwrap();
    let enc = dir.join("enc");
    ok(&run(
        &server,
        &[
            "encrypt",
            "-r",
            "--key-id",
            "alias/out",
            s(&src),
            "-o",
            s(&enc),
        ],
    ));
    let kenv = std::fs::read(enc.join("x.kenv")).unwrap();
    let dec = dir.join("dec");

    // decrypt -r: `x` and `x.kenv`, `x.kenv` and `x.seed` (all valid envelopes), `x.kenv` and
    // a directory `x`.
    for (case, other) in ["x", "x.seed", "x"].into_iter().enumerate() {
        match case {
            0 => std::fs::write(enc.join("x"), &kenv).unwrap(),
            1 => std::fs::write(enc.join("x.seed"), &kenv).unwrap(),
            _ => std::fs::create_dir(enc.join("x")).unwrap(),
        }
        for force in [false, true] {
            let mut args = vec!["decrypt", "-r", s(&enc), "-o", s(&dec)];
            if force {
                args.insert(2, "--force");
            }
            let out = run(&server, &args);
            fails_with(&out, 2, "would both be written as");
            let stderr = String::from_utf8_lossy(&out.stderr);
            for name in [
                s(&enc.join("x.kenv")),
                s(&enc.join(other)),
                s(&dec.join("x")),
            ] {
                assert!(stderr.contains(name), "{name} not named in {stderr}");
            }
            assert!(!dec.exists(), "nothing written");
            assert!(leftovers(dir).is_empty(), "{:?}", leftovers(dir));
        }
        let path = enc.join(other);
        if path.is_dir() {
            std::fs::remove_dir(path).unwrap();
        } else {
            std::fs::remove_file(path).unwrap();
        }
    }
    // An existing output tree is kept as it was, even with --force.
    ok(&run(&server, &["decrypt", "-r", s(&enc), "-o", s(&dec)]));
    std::fs::write(enc.join("x"), &kenv).unwrap();
    let out = run(
        &server,
        &["decrypt", "-r", "--force", s(&enc), "-o", s(&dec)],
    );
    fails_with(&out, 2, "would both be written as");
    assert_eq!(std::fs::read(dec.join("x")).unwrap(), b"from x.kenv");
    assert_eq!(std::fs::read_dir(&dec).unwrap().count(), 1);

    // encrypt -r: a file `a` and a directory `a.kenv`.
    let src2 = dir.join("src2");
    std::fs::create_dir_all(src2.join("a.kenv")).unwrap();
    std::fs::write(src2.join("a"), b"a").unwrap();
    let enc2 = dir.join("enc2");
    let out = run(
        &server,
        &[
            "encrypt",
            "-r",
            "--key-id",
            "alias/out",
            s(&src2),
            "-o",
            s(&enc2),
        ],
    );
    fails_with(&out, 2, "would both be written as");
    assert!(!enc2.exists());
    assert!(leftovers(dir).is_empty());
}
