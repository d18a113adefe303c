//! Reading the input: stdin spooled to a temporary file, then read line by line.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

/// Reads the input line by line as raw bytes: `(line number, text or the UTF-8 error)`.
pub(super) fn for_each_line(
    path: &Path,
    mut f: impl FnMut(u64, Result<&str, String>) -> bool,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut buf = Vec::new();
    let mut n = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        n += 1;
        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            buf.pop();
        }
        let text = std::str::from_utf8(&buf).map_err(|e| format!("not UTF-8: {e}"));
        if !f(n, text) {
            return Ok(());
        }
    }
}

pub(super) fn spool_stdin() -> std::io::Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::NamedTempFile::new()?;
    std::io::copy(&mut std::io::stdin().lock(), tmp.as_file_mut())?;
    tmp.as_file_mut().flush()?;
    Ok(tmp)
}
