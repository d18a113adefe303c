//! Reading the input. Both passes read the same open file: a regular file as it is, anything
//! else (stdin, a pipe, a process substitution's `/dev/fd/N`, a FIFO) spooled once to an
//! unnamed temporary file, since it can be read only once. Lines are read with a size limit
//! (an over-long one is never held whole), a leading UTF-8 BOM is skipped, and each line gets
//! a fingerprint, so the send pass can tell whether a line is still the one checked.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use crate::line::line_hash;

/// The input, open for both passes.
pub(super) struct Input {
    file: File,
}

impl Input {
    /// Opens `name` (`-` for stdin), spooling it unless it is a regular file.
    pub(super) fn open(name: &str) -> io::Result<Self> {
        if name == "-" {
            return Self::spool(&mut io::stdin().lock());
        }
        // A FIFO's open waits for a writer, as `cat` would.
        let mut file = File::open(name)?;
        if file.metadata()?.is_file() {
            return Ok(Self { file });
        }
        Self::spool(&mut file)
    }

    fn spool(from: &mut impl Read) -> io::Result<Self> {
        let mut file = tempfile::tempfile()?;
        io::copy(from, &mut file)?;
        file.flush()?;
        Ok(Self { file })
    }

    /// A reader of the lines from the start; lines longer than `max` bytes are not held.
    pub(super) fn lines(&self, max: usize) -> io::Result<Lines<'_>> {
        (&self.file).seek(SeekFrom::Start(0))?;
        Ok(Lines {
            reader: BufReader::new(&self.file),
            buf: Vec::new(),
            max,
            n: 0,
            unread_rest: false,
        })
    }
}

/// The lines of an [`Input`], numbered from 1.
pub(super) struct Lines<'a> {
    reader: BufReader<&'a File>,
    buf: Vec<u8>,
    max: usize,
    n: u64,
    /// The last line was over the limit and the rest of it is still to be skipped.
    unread_rest: bool,
}

/// One line as read.
pub(super) enum Line<'a> {
    /// Its text, without the end of line (nor a leading BOM on line 1), or why it is not UTF-8.
    Text {
        /// Its bytes.
        raw: &'a [u8],
        /// The text, or the UTF-8 error.
        text: Result<&'a str, String>,
        /// [`line_hash`] of its bytes.
        hash: u64,
    },
    /// Longer than the limit: only its first bytes were read.
    TooLong,
}

impl Line<'_> {
    /// What the send pass compares with the check pass: the line's hash; 0 for a blank line
    /// (skipped either way) and `u64::MAX` for one over the limit (refused either way). A real
    /// hash equal to either is a 2⁻⁶³ chance.
    pub(super) fn fingerprint(&self) -> u64 {
        match self {
            Line::Text { text, .. } if text.as_ref().is_ok_and(|t| is_blank(t)) => 0,
            Line::Text { hash, .. } => *hash,
            Line::TooLong => u64::MAX,
        }
    }
}

/// Whether a line counts as blank (ignored).
pub(super) fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Lines<'_> {
    /// The next line and its number, or `None` at the end.
    pub(super) fn next_line(&mut self) -> io::Result<Option<(u64, Line<'_>)>> {
        if std::mem::take(&mut self.unread_rest) {
            self.reader.skip_until(b'\n')?;
        }
        self.buf.clear();
        // At most the limit, its end of line, and one byte more to tell an over-long line.
        let cap = self.max as u64 + 2;
        let read = (&mut self.reader)
            .take(cap)
            .read_until(b'\n', &mut self.buf)?;
        if read == 0 {
            return Ok(None);
        }
        self.n += 1;
        let ended = self.buf.last() == Some(&b'\n');
        if ended {
            self.buf.pop();
        }
        // A `\r` ends the line only where the line ends (here, or at the end of the input).
        if (ended || (read as u64) < cap) && self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if self.n == 1 && self.buf.starts_with(BOM) {
            self.buf.drain(..BOM.len());
        }
        if self.buf.len() > self.max {
            self.unread_rest = !ended;
            return Ok(Some((self.n, Line::TooLong)));
        }
        let hash = line_hash(&self.buf);
        let text = std::str::from_utf8(&self.buf).map_err(|e| format!("not UTF-8: {e}"));
        Ok(Some((
            self.n,
            Line::Text {
                raw: &self.buf,
                text,
                hash,
            },
        )))
    }

    /// Copies the whole of the over-long line just returned to `to`, with an end of line,
    /// without holding it.
    pub(super) fn copy_too_long(&mut self, to: &mut impl Write) -> io::Result<()> {
        to.write_all(&self.buf)?;
        if std::mem::take(&mut self.unread_rest) {
            loop {
                let chunk = self.reader.fill_buf()?;
                if chunk.is_empty() {
                    break;
                }
                let (part, done) = match chunk.iter().position(|b| *b == b'\n') {
                    Some(at) => (at + 1, true),
                    None => (chunk.len(), false),
                };
                let text = &chunk[..part];
                to.write_all(text.strip_suffix(b"\n").unwrap_or(text))?;
                self.reader.consume(part);
                if done {
                    break;
                }
            }
        }
        to.write_all(b"\n")
    }
}

/// The fingerprints of every line the check pass read, in an unnamed temporary file (8 bytes
/// a line), so that memory does not grow with the input.
pub(super) struct Fingerprints {
    out: BufWriter<File>,
}

impl Fingerprints {
    pub(super) fn new() -> io::Result<Self> {
        Ok(Self {
            out: BufWriter::new(tempfile::tempfile()?),
        })
    }

    /// Appends the next line's fingerprint.
    pub(super) fn push(&mut self, fingerprint: u64) -> io::Result<()> {
        self.out.write_all(&fingerprint.to_le_bytes())
    }

    /// The fingerprints again, from the first line.
    pub(super) fn replay(self) -> io::Result<Replay> {
        let mut file = self
            .out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        file.seek(SeekFrom::Start(0))?;
        Ok(Replay {
            input: BufReader::new(file),
        })
    }
}

/// The check pass's fingerprints, read back in line order.
pub(super) struct Replay {
    input: BufReader<File>,
}

impl Replay {
    /// The next line's fingerprint, or `None` past the last line checked.
    pub(super) fn next_fingerprint(&mut self) -> io::Result<Option<u64>> {
        let mut bytes = [0u8; 8];
        match self.input.read_exact(&mut bytes) {
            Ok(()) => Ok(Some(u64::from_le_bytes(bytes))),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn input(bytes: &[u8]) -> Input {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        Input { file }
    }

    #[test]
    fn lines_skip_a_bom_strip_ends_and_stop_at_the_limit() {
        let long = "x".repeat(9);
        let bytes = format!("\u{feff}abc\r\n{long}\n\nend");
        let all = input(bytes.as_bytes());
        let mut lines = all.lines(8).unwrap();
        let mut seen = Vec::new();
        while let Some((n, line)) = lines.next_line().unwrap() {
            seen.push(match line {
                Line::Text { text, hash, .. } => {
                    assert_eq!(hash, line_hash(text.as_ref().unwrap().as_bytes()));
                    format!("{n}:{}", text.unwrap())
                }
                Line::TooLong => format!("{n}:too long"),
            });
        }
        assert_eq!(seen, ["1:abc", "2:too long", "3:", "4:end"]);
        // Exactly at the limit is accepted.
        let exact = input(b"12345678\n");
        let mut lines = exact.lines(8).unwrap();
        assert!(matches!(
            lines.next_line().unwrap(),
            Some((
                1,
                Line::Text {
                    text: Ok("12345678"),
                    ..
                }
            ))
        ));
    }

    #[test]
    fn an_over_long_line_is_copied_whole_without_being_held() {
        let long = "y".repeat(100_000);
        let bytes = format!("{long}\nnext\n");
        let long_input = input(bytes.as_bytes());
        let mut lines = long_input.lines(10).unwrap();
        assert!(matches!(
            lines.next_line().unwrap(),
            Some((1, Line::TooLong))
        ));
        let mut copy = Vec::new();
        lines.copy_too_long(&mut copy).unwrap();
        assert_eq!(copy, format!("{long}\n").as_bytes());
        assert!(lines.buf.capacity() < 1000, "the line was held whole");
        assert!(matches!(
            lines.next_line().unwrap(),
            Some((
                2,
                Line::Text {
                    text: Ok("next"),
                    ..
                }
            ))
        ));
        assert!(lines.next_line().unwrap().is_none());
    }

    #[test]
    fn fingerprints_come_back_in_order() {
        let mut f = Fingerprints::new().unwrap();
        for v in [0, 7, u64::MAX] {
            f.push(v).unwrap();
        }
        let mut r = f.replay().unwrap();
        for v in [0, 7, u64::MAX] {
            assert_eq!(r.next_fingerprint().unwrap(), Some(v));
        }
        assert_eq!(r.next_fingerprint().unwrap(), None);
    }
}
