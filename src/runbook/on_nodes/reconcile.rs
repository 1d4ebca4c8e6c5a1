//! The copies of one run's journal (the seat's, each node's, with the chain heads each node
//! stored) compared: each must chain, each node's copy must match the heads it stored, and all
//! must agree on the records they share. The longest consistent copy is the run's journal; a
//! disagreement means one of them was altered, and nothing goes on from it.

use crate::protocol::journal::{Record, GENESIS};
use crate::protocol::run::NodeJournal;

/// What comparing the copies found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A copy contradicts another, or its own chain or heads: the journal was altered.
    Altered(String),
    /// A copy lacks records another holds (a node that was unreachable, a seat that did not
    /// write them, or records dropped from it).
    Behind(String),
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::Altered(s) | Finding::Behind(s) => f.write_str(s),
        }
    }
}

/// One copy of the journal: where it is and its records.
pub struct Copy<'a> {
    /// `this seat` or the node's name.
    pub place: String,
    /// Its records.
    pub records: &'a [Record],
    /// The heads the node stored after each record (none for the seat).
    pub heads: &'a [crate::protocol::run::Head],
}

impl<'a> Copy<'a> {
    /// A node's copy.
    pub fn node(name: &str, j: &'a NodeJournal) -> Self {
        Self {
            place: name.to_string(),
            records: &j.records,
            heads: &j.heads,
        }
    }
}

fn chain_break(records: &[Record]) -> Option<u64> {
    let mut prev = GENESIS;
    for (i, r) in records.iter().enumerate() {
        if !r.chains_after(prev, i as u64) {
            return Some(i as u64);
        }
        prev = &r.hash;
    }
    None
}

/// Compares the copies; returns the longest one's records and what was found. The records are
/// the run's journal only when no finding is [`Finding::Altered`].
pub fn reconcile(copies: &[Copy<'_>]) -> (Vec<Record>, Vec<Finding>) {
    let mut found = Vec::new();
    for c in copies {
        if let Some(at) = chain_break(c.records) {
            found.push(Finding::Altered(format!(
                "the copy on {} breaks its hash chain at record {at}",
                c.place
            )));
        }
        for h in c.heads {
            match c.records.get(h.seq as usize) {
                Some(r) if r.hash == h.hash => {}
                Some(_) => found.push(Finding::Altered(format!(
                    "the copy on {} was rewritten: record {} is not the one it stored",
                    c.place, h.seq
                ))),
                None => found.push(Finding::Altered(format!(
                    "the copy on {} lost records: it stored a head after record {} but holds {}",
                    c.place,
                    h.seq,
                    c.records.len()
                ))),
            }
        }
    }
    let Some(longest) = copies.iter().max_by_key(|c| c.records.len()) else {
        return (Vec::new(), found);
    };
    for c in copies {
        if let Some(i) = c
            .records
            .iter()
            .zip(longest.records)
            .position(|(a, b)| a.hash != b.hash)
        {
            found.push(Finding::Altered(format!(
                "the copies on {} and {} differ at record {i}",
                c.place, longest.place
            )));
        } else if c.records.len() < longest.records.len() {
            found.push(Finding::Behind(format!(
                "the copy on {} holds {} records, {} holds {}",
                c.place,
                c.records.len(),
                longest.place,
                longest.records.len()
            )));
        }
        // Every stored head must be a record of the longest copy.
        for h in c.heads {
            if longest
                .records
                .get(h.seq as usize)
                .is_some_and(|r| r.hash != h.hash)
            {
                found.push(Finding::Altered(format!(
                    "record {} of {} is not the one {} stored",
                    h.seq, longest.place, c.place
                )));
            }
        }
    }
    found.dedup();
    (longest.records.to_vec(), found)
}

/// Whether any finding says a copy was altered.
pub fn altered(found: &[Finding]) -> bool {
    found.iter().any(|f| matches!(f, Finding::Altered(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::journal::EntryKind;
    use crate::protocol::run::Head;

    fn chain(n: usize, word: &str) -> Vec<Record> {
        let mut out: Vec<Record> = Vec::new();
        for i in 0..n {
            let prev = out.last().map_or(GENESIS.to_string(), |r| r.hash.clone());
            let mut r = Record {
                seq: i as u64,
                ts: "2026-12-01T10:00:00.000Z".into(),
                run: "busybox-20261201T100000Z-0001".into(),
                kind: EntryKind::StepDone,
                step: Some(format!("{word}{i}")),
                detail: serde_json::Value::Null,
                prev,
                hash: String::new(),
            };
            r.hash = r.digest(&r.prev);
            out.push(r);
        }
        out
    }

    fn heads(r: &[Record]) -> Vec<Head> {
        r.iter()
            .map(|r| Head {
                seq: r.seq,
                hash: r.hash.clone(),
            })
            .collect()
    }

    #[test]
    fn a_seat_copy_rehashed_after_an_edit_is_found_altered_by_the_nodes_heads() {
        let real = chain(5, "s");
        let mut forged = chain(5, "s");
        forged[3].step = Some("edited".into());
        // Re-hashed from the edit on: its own chain verifies.
        for i in 3..5 {
            forged[i].prev = if i == 0 {
                GENESIS.into()
            } else {
                forged[i - 1].hash.clone()
            };
            forged[i].hash = forged[i].digest(&forged[i].prev.clone());
        }
        assert_eq!(chain_break(&forged), None);
        let h = heads(&real);
        let copies = [
            Copy {
                place: "this seat".into(),
                records: &forged,
                heads: &[],
            },
            Copy {
                place: "deb1".into(),
                records: &real,
                heads: &h,
            },
        ];
        let (_, found) = reconcile(&copies);
        assert!(altered(&found), "{found:?}");
    }

    #[test]
    fn a_dropped_last_record_is_found_and_the_longest_copy_wins() {
        let real = chain(4, "s");
        let h = heads(&real);
        let cut = &real[..3];
        let copies = [
            Copy {
                place: "this seat".into(),
                records: cut,
                heads: &[],
            },
            Copy {
                place: "deb2".into(),
                records: &real,
                heads: &h,
            },
        ];
        let (truth, found) = reconcile(&copies);
        assert_eq!(truth.len(), 4);
        assert!(!altered(&found));
        assert!(matches!(&found[..], [Finding::Behind(_)]), "{found:?}");
        // A node that lost its own last record while keeping its head is altered.
        let short = &real[..3];
        let lying = [Copy {
            place: "deb2".into(),
            records: short,
            heads: &h,
        }];
        assert!(altered(&reconcile(&lying).1));
    }
}
