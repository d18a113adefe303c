//! The check pass: every line parsed and planned before anything is sent.

use std::collections::{BTreeSet, HashMap};

use helpdesk::TicketUpdater;

use super::input::{Fingerprints, Input, Line, Replay, is_blank};
use crate::journal::Record;
use crate::line::{Flags, hash_hex, parse_line_with};

/// What one line is, after the check.
pub(super) enum Checked {
    Blank,
    Invalid(String),
    Valid,
}

/// A line as the check pass holds it until its chunk is checked.
enum Text {
    Read(Result<String, String>),
    TooLong,
}

fn check(updater: &dyn TicketUpdater, text: &Text, max: usize, flags: Flags) -> Checked {
    let text = match text {
        Text::Read(Ok(t)) => t,
        Text::Read(Err(e)) => return Checked::Invalid(e.clone()),
        Text::TooLong => {
            return Checked::Invalid(format!(
                "longer than {max} bytes (--max-line-bytes); not read further"
            ));
        }
    };
    if is_blank(text) {
        return Checked::Blank;
    }
    match parse_line_with(text, flags) {
        Err(e) => Checked::Invalid(e),
        Ok((id, update)) => match updater.check(&id, &update) {
            Ok(_) => Checked::Valid,
            Err(e) => Checked::Invalid(e.to_string()),
        },
    }
}

/// Lines the check pass reads before it checks them, on several threads.
const CHECK_CHUNK: usize = 1024;
/// ... or fewer, once they hold this many bytes: long lines (up to `--max-line-bytes` each)
/// must not multiply into a large chunk.
const CHECK_CHUNK_BYTES: usize = 4 << 20;

/// One line's check, handed to the check pass's caller in line order.
struct LineCheck {
    /// Its number.
    pub(super) n: u64,
    pub(super) checked: Checked,
    /// [`Line::fingerprint`].
    pub(super) fingerprint: u64,
    /// Its hash, for a line that was read whole.
    pub(super) hash: Option<u64>,
}

/// The check pass: every line parsed and checked (`TicketUpdater::check`), on as many threads
/// as there are CPUs (at most 4), the results handed to `f` in line order. The input is read a
/// chunk at a time and no line over `max` bytes is held, so memory stays flat.
fn check_lines(
    input: &Input,
    max: usize,
    updater: &dyn TicketUpdater,
    flags: Flags,
    mut f: impl FnMut(LineCheck),
) -> std::io::Result<()> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(4);
    let check_one =
        |(_, text, _, _): &(u64, Text, u64, Option<u64>)| check(updater, text, max, flags);
    let mut run = |chunk: &mut Vec<(u64, Text, u64, Option<u64>)>| {
        let results: Vec<Checked> = if threads < 2 || chunk.len() < 256 {
            chunk.iter().map(check_one).collect()
        } else {
            let per = chunk.len().div_ceil(threads);
            std::thread::scope(|scope| {
                let parts: Vec<_> = chunk
                    .chunks(per)
                    .map(|part| {
                        scope.spawn(move || part.iter().map(check_one).collect::<Vec<Checked>>())
                    })
                    .collect();
                parts
                    .into_iter()
                    .flat_map(|h| {
                        h.join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    })
                    .collect::<Vec<Checked>>()
            })
        };
        for ((n, _, fingerprint, hash), checked) in chunk.drain(..).zip(results) {
            f(LineCheck {
                n,
                checked,
                fingerprint,
                hash,
            });
        }
    };
    let mut chunk = Vec::with_capacity(CHECK_CHUNK);
    let mut bytes = 0;
    let mut lines = input.lines(max)?;
    while let Some((n, line)) = lines.next_line()? {
        let fingerprint = line.fingerprint();
        let (text, hash) = match line {
            Line::Text { text, hash, .. } => (Text::Read(text.map(str::to_owned)), Some(hash)),
            Line::TooLong => (Text::TooLong, None),
        };
        if let Text::Read(Ok(t)) = &text {
            bytes += t.len();
        }
        chunk.push((n, text, fingerprint, hash));
        if chunk.len() == CHECK_CHUNK || bytes >= CHECK_CHUNK_BYTES {
            run(&mut chunk);
            bytes = 0;
        }
    }
    run(&mut chunk);
    Ok(())
}

/// What the check pass found.
pub(super) struct CheckPass {
    /// Valid lines.
    pub(super) total: u64,
    pub(super) invalid: u64,
    /// Only the invalid lines are remembered, so memory does not grow with the file.
    pub(super) invalid_lines: BTreeSet<u64>,
    /// Every line's fingerprint, for the send pass.
    pub(super) fingerprints: Replay,
}

/// The check pass, as `apply` uses it: each line's fingerprint kept for the send pass, each
/// invalid line reported, and, when resuming, each line compared with the journal's record.
pub(super) fn check_pass(
    input: &Input,
    max: usize,
    updater: &dyn TicketUpdater,
    previous: &HashMap<u64, Record>,
    flags: Flags,
) -> std::io::Result<CheckPass> {
    let mut total = 0u64;
    let mut invalid_lines = BTreeSet::new();
    let mut fingerprints = Fingerprints::new()?;
    let mut kept = Ok(());
    check_lines(input, max, updater, flags, |line| {
        let LineCheck {
            n,
            checked,
            fingerprint,
            hash,
        } = line;
        if kept.is_ok() {
            kept = fingerprints.push(fingerprint);
        }
        match checked {
            Checked::Blank => {}
            Checked::Invalid(reason) => {
                invalid_lines.insert(n);
                eprintln!("line {n}: {reason}");
            }
            Checked::Valid => {
                // A record made from a torn one may have lost the hash: nothing to compare.
                if let (Some(prev), Some(hash)) = (previous.get(&n), hash)
                    && !prev.hash.is_empty()
                    && prev.hash != hash_hex(hash)
                {
                    invalid_lines.insert(n);
                    eprintln!(
                        "line {n}: changed since the journal recorded it (ticket {}); resume needs the same file",
                        prev.ticket_id
                    );
                    return;
                }
                total += 1;
            }
        }
    })?;
    kept?;
    Ok(CheckPass {
        total,
        invalid: invalid_lines.len() as u64,
        invalid_lines,
        fingerprints: fingerprints.replay()?,
    })
}
