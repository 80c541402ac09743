//! Directory trees (`-r`): walk the input, build the mirror tree in a temporary directory beside
//! the output, process files in parallel, and rename the tree into place only when every file
//! succeeded. Symbolic links and special files are refused rather than silently skipped, and
//! so is a tree where two inputs map to one output name (`x` and `x.kenv` under `decrypt -r`),
//! before anything is written.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::output::{sync_parent, temp_name};
use crate::exit::{USAGE, fail};

/// One regular file of the input tree.
struct Entry {
    rel: PathBuf,
}

/// Mirrors `input` into `output`: `rename` maps each file's relative path, `each(src, dst)`
/// writes one file. On any failure the output is left as it was.
pub fn mirror(
    input: &Path,
    output: &Path,
    force: bool,
    rename: impl Fn(&Path) -> PathBuf + Sync,
    each: impl Fn(&Path, &Path) -> anyhow::Result<()> + Sync,
) -> anyhow::Result<()> {
    if !input.is_dir() {
        return Err(fail(
            USAGE,
            format!("{} is not a directory (-r needs one)", input.display()),
        ));
    }
    if !force && output.symlink_metadata().is_ok() {
        return Err(fail(
            USAGE,
            format!("{} exists (use --force to replace it)", output.display()),
        ));
    }
    let (dirs, files) = walk(input)?;
    let targets = plan(input, output, &dirs, &files, rename)?;
    let staging = Staging::create(output)?;
    for dir in &dirs {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(staging.path.join(dir))?;
    }
    files.par_iter().zip(&targets).try_for_each(|(e, dst)| {
        each(&input.join(&e.rel), &staging.path.join(dst))
            .map_err(|err| err.context(format!("{}", input.join(&e.rel).display())))
    })?;
    staging.commit(output)
}

/// Each file's output path (relative), refusing a tree where two files, or a file and a
/// directory, would get the same output path: one would silently replace the other.
fn plan(
    input: &Path,
    output: &Path,
    dirs: &[PathBuf],
    files: &[Entry],
    rename: impl Fn(&Path) -> PathBuf,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut taken: BTreeMap<PathBuf, &Path> =
        dirs.iter().map(|d| (d.clone(), d.as_path())).collect();
    let mut targets = Vec::with_capacity(files.len());
    for e in files {
        let dst = rename(&e.rel);
        if let Some(other) = taken.insert(dst.clone(), &e.rel) {
            return Err(fail(
                USAGE,
                format!(
                    "{} and {} would both be written as {} (rename one of them; nothing was written)",
                    input.join(other).display(),
                    input.join(&e.rel).display(),
                    output.join(&dst).display()
                ),
            ));
        }
        targets.push(dst);
    }
    Ok(targets)
}

/// Relative directories and regular files under `root`, in a stable order.
fn walk(root: &Path) -> anyhow::Result<(Vec<PathBuf>, Vec<Entry>)> {
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let mut children: Vec<_> = fs::read_dir(root.join(&rel))?.collect::<Result<_, _>>()?;
        children.sort_by_key(fs::DirEntry::file_name);
        for child in children {
            let child_rel = rel.join(child.file_name());
            let kind = child.file_type()?;
            if kind.is_dir() {
                dirs.push(child_rel.clone());
                stack.push(child_rel);
            } else if kind.is_file() {
                files.push(Entry { rel: child_rel });
            } else {
                return Err(fail(
                    USAGE,
                    format!(
                        "{} is not a regular file or directory (links and devices are not followed)",
                        root.join(&child_rel).display()
                    ),
                ));
            }
        }
    }
    Ok((dirs, files))
}

/// `rel` with `.suffix` appended to its file name.
pub fn add_suffix(rel: &Path, suffix: &str) -> PathBuf {
    let mut name = rel
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".");
    name.push(suffix);
    rel.with_file_name(name)
}

/// A temporary directory beside the output, removed unless committed.
struct Staging {
    path: PathBuf,
    done: bool,
}

impl Staging {
    fn create(output: &Path) -> std::io::Result<Self> {
        let path = temp_name(output);
        fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(Self { path, done: false })
    }

    /// Moves the finished tree to `output`, replacing an existing one (only reached with
    /// `--force`) after the new one is complete.
    fn commit(mut self, output: &Path) -> anyhow::Result<()> {
        let old = output.symlink_metadata().is_ok().then(|| temp_name(output));
        if let Some(old) = &old {
            fs::rename(output, old)?;
        }
        fs::rename(&self.path, output)?;
        self.done = true;
        sync_parent(output)?;
        if let Some(old) = old {
            if old.is_dir() {
                fs::remove_dir_all(old)?
            } else {
                fs::remove_file(old)?
            }
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_inputs_for_one_output_are_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        fs::create_dir_all(input.join("d")).unwrap();
        let output = dir.path().join("out");
        let strip = |r: &Path| r.with_extension("");
        let never = |_: &Path, _: &Path| -> anyhow::Result<()> { panic!("nothing is written") };
        for (a, b) in [("x", "x.kenv"), ("y.kenv", "y.seed"), ("d.kenv", "")] {
            fs::write(input.join(a), b"1").unwrap();
            if !b.is_empty() {
                fs::write(input.join(b), b"2").unwrap();
            }
            let err = mirror(&input, &output, false, strip, never).unwrap_err();
            assert!(
                err.to_string().contains("would both be written as"),
                "{err}"
            );
            assert!(!output.exists());
            fs::remove_file(input.join(a)).unwrap();
            if !b.is_empty() {
                fs::remove_file(input.join(b)).unwrap();
            }
        }
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no staging left"
        );
    }

    #[test]
    fn mirror_is_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        fs::create_dir_all(input.join("a/b")).unwrap();
        fs::create_dir_all(input.join("empty")).unwrap();
        fs::write(input.join("a/b/x"), b"x").unwrap();
        fs::write(input.join("y"), b"y").unwrap();
        let output = dir.path().join("out");
        let copy = |s: &Path, d: &Path| -> anyhow::Result<()> {
            fs::copy(s, d)?;
            Ok(())
        };
        mirror(&input, &output, false, |r| add_suffix(r, "kenv"), copy).unwrap();
        assert_eq!(fs::read(output.join("a/b/x.kenv")).unwrap(), b"x");
        assert!(output.join("empty").is_dir());
        assert!(
            mirror(&input, &output, false, |r| r.to_owned(), copy).is_err(),
            "exists without --force"
        );
        let failing = |s: &Path, d: &Path| -> anyhow::Result<()> {
            if s.ends_with("y") {
                anyhow::bail!("boom")
            }
            copy(s, d)
        };
        assert!(mirror(&input, &output, true, |r| r.to_owned(), failing).is_err());
        assert_eq!(
            fs::read(output.join("a/b/x.kenv")).unwrap(),
            b"x",
            "old tree kept on failure"
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no staging left: {:?}",
            fs::read_dir(dir.path()).unwrap().collect::<Vec<_>>()
        );
    }
}
