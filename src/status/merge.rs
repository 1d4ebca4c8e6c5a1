//! The status merge table (OpenSVC's): how two statuses combine into the
//! status of the group or service holding both.

use super::Status;

impl Status {
    /// Combines two statuses. Commutative, with [`Status::Undef`] as the identity.
    pub fn merge(self, other: Status) -> Status {
        use Status::*;
        if self == Undef {
            return other;
        }
        if other == Undef {
            return self;
        }
        // The table is symmetric: look up the upper triangle only.
        let (a, b) = if rank(self) <= rank(other) {
            (self, other)
        } else {
            (other, self)
        };
        match (a, b) {
            (Warn, _) | (_, Warn) => Warn,
            (Up, Up) | (Up, NotApplicable) => Up,
            (Up, StdbyUp) | (Up, StdbyUpWithUp) => StdbyUpWithUp,
            (Up, Down) | (Up, StdbyDown) | (Up, StdbyUpWithDown) => Warn,
            (Down, Down) | (Down, NotApplicable) => Down,
            (Down, StdbyUp) | (Down, StdbyUpWithDown) => StdbyUpWithDown,
            (Down, StdbyDown) => StdbyDown,
            (Down, StdbyUpWithUp) => Warn,
            (NotApplicable, x) => x,
            (StdbyUp, StdbyUp) => StdbyUp,
            (StdbyUp, StdbyDown) => Warn,
            (StdbyUp, x) => x,
            (StdbyDown, StdbyDown) => StdbyDown,
            (StdbyDown, _) => Warn,
            (StdbyUpWithUp, StdbyUpWithUp) => StdbyUpWithUp,
            (StdbyUpWithUp, _) => Warn,
            (StdbyUpWithDown, _) => StdbyUpWithDown,
            // Unreachable: `a` ranks at or below `b`, and Undef was handled above.
            (_, _) => Warn,
        }
    }
}

/// Position of a value in the design table's header, used to pick the upper triangle.
fn rank(s: Status) -> u8 {
    match s {
        Status::Up => 0,
        Status::Down => 1,
        Status::Warn => 2,
        Status::NotApplicable => 3,
        Status::StdbyUp => 4,
        Status::StdbyDown => 5,
        Status::StdbyUpWithUp => 6,
        Status::StdbyUpWithDown => 7,
        Status::Undef => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OpenSVC's merge table as the team's design notes wrote it down, verbatim (upper
    /// triangle; blanks are given by symmetry).
    const DESIGN_TABLE: &str = "
| +          | up   | down       | warn | n/a        | stdby up | stdby down | SUWU | SUWD       |
|------------|------|------------|------|------------|----------|------------|------|------------|
| up         | up   | warn       | warn | up         | SUWU     | warn       | SUWU | warn       |
| down       |      | down       | warn | down       | SUWD     | stdby down | warn | SUWD       |
| warn       |      |            | warn | warn       | warn     | warn       | warn | warn       |
| n/a        |      |            |      | n/a        | stdby up | stdby down | SUWU | SUWD       |
| stdby up   |      |            |      |            | stdby up | warn       | SUWU | SUWD       |
| stdby down |      |            |      |            |          | stdby down | warn | warn       |
| SUWU       |      |            |      |            |          |            | SUWU | warn       |
| SUWD       |      |            |      |            |          |            |      | SUWD       |
";

    fn parse_cell(cell: &str) -> Status {
        match cell {
            "SUWU" => Status::StdbyUpWithUp,
            "SUWD" => Status::StdbyUpWithDown,
            word => Status::from_word(word).unwrap_or_else(|| panic!("bad cell {word:?}")),
        }
    }

    /// The full 9x9 expectation: the design table, mirrored, plus the `undef` row and column.
    fn expected() -> Vec<(Status, Status, Status)> {
        let rows: Vec<Vec<String>> = DESIGN_TABLE
            .lines()
            .filter(|l| l.starts_with('|') && !l.starts_with("|--"))
            .map(|l| {
                l.trim_matches('|')
                    .split('|')
                    .map(|c| c.trim().to_string())
                    .collect()
            })
            .collect();
        let header: Vec<Status> = rows[0][1..].iter().map(|c| parse_cell(c)).collect();
        assert_eq!(header.len(), 8);
        let mut out = Vec::new();
        for row in &rows[1..] {
            let a = parse_cell(&row[0]);
            for (j, cell) in row[1..].iter().enumerate() {
                if cell.is_empty() {
                    continue;
                }
                let b = header[j];
                let r = parse_cell(cell);
                out.push((a, b, r));
                if a != b {
                    out.push((b, a, r));
                }
            }
        }
        for s in Status::ALL {
            out.push((Status::Undef, s, s));
            if s != Status::Undef {
                out.push((s, Status::Undef, s));
            }
        }
        out
    }

    #[test]
    fn all_81_pairs_match_the_design_table() {
        let table = expected();
        assert_eq!(table.len(), 81);
        for (a, b, r) in table {
            assert_eq!(a.merge(b), r, "{a:?} + {b:?}");
        }
    }

    #[test]
    fn merge_is_commutative_and_undef_is_identity() {
        for a in Status::ALL {
            assert_eq!(a.merge(Status::Undef), a);
            assert_eq!(Status::Undef.merge(a), a);
            for b in Status::ALL {
                assert_eq!(a.merge(b), b.merge(a), "{a:?} + {b:?}");
            }
        }
    }
}
