//! `print status` as text: the seed's tree, character for character.
//!
//! Columns (0-based), measured on the seed: the tree prefix and name fill columns 0-20
//! (`%-20s `), flags take 21-24, the status word starts at 26 padded to 8, the label at 35.
//! Comment lines put `# ` at column 35 and wrap at 78 columns, continuation lines at column 35.

use super::group::{block_of, group_of, Block};
use super::wrap::wrap;
use super::{ResourceStatus, ServiceStatus, Status};
use crate::text::clean_line;

/// Width of the tree prefix plus name, before the flags column.
const NAME_WIDTH: usize = 20;
/// Width the status word is padded to.
const WORD_WIDTH: usize = 8;
/// Column of labels and comments.
const LABEL_COL: usize = 35;
/// Maximum width of a comment line.
const LINE_WIDTH: usize = 78;

/// Renders the status tree. `paint` wraps each status word (colour on a tty; identity for
/// plain text); padding is computed on the bare word, so escapes do not shift columns.
pub fn render_text(status: &ServiceStatus, paint: &dyn Fn(Status, &str) -> String) -> String {
    let mut out = Vec::new();
    out.push(clean_line(&status.service).into_owned());
    out.push(line("overall", "", status.overall, "", paint));
    out.push(line("|- avail", "", status.avail, "", paint));
    render_block(&mut out, status, Block::Avail, paint);
    out.push(line("|- sync", "", status.sync, "", paint));
    render_block(&mut out, status, Block::Sync, paint);
    out.push(line("'- hb", "", status.hb, "", paint));
    render_block(&mut out, status, Block::Hb, paint);

    let mut text = String::new();
    for l in out {
        text.push_str(l.trim_end());
        text.push('\n');
    }
    text
}

/// One `name flags status label` line.
fn line(
    name: &str,
    flags: &str,
    s: Status,
    label: &str,
    paint: &dyn Fn(Status, &str) -> String,
) -> String {
    let word = s.word();
    let pad = WORD_WIDTH.saturating_sub(word.chars().count());
    format!(
        "{name:<NAME_WIDTH$} {flags:4} {}{} {label}",
        paint(s, word),
        " ".repeat(pad)
    )
}

/// The resource rows of one block, in the order `aggregate` left them.
fn render_block(
    out: &mut Vec<String>,
    status: &ServiceStatus,
    block: Block,
    paint: &dyn Fn(Status, &str) -> String,
) {
    let rows: Vec<&ResourceStatus> = status
        .resources
        .iter()
        .filter(|r| block_of(&r.rid) == block)
        .collect();
    for (i, r) in rows.iter().enumerate() {
        let last = i + 1 == rows.len();
        let (row_prefix, comment_prefix) = prefixes(block, last, &r.rid);
        // Labels come from config values, comments from command output: as safe text.
        let name = format!("{row_prefix}{}", clean_line(&r.rid));
        out.push(line(
            &name,
            &r.flags.render(),
            r.status,
            &clean_line(&r.label),
            paint,
        ));
        for comment in &r.comments {
            let text = format!("# {}", clean_line(comment));
            for piece in wrap(&text, LINE_WIDTH - LABEL_COL) {
                out.push(format!("{comment_prefix:<LABEL_COL$}{piece}"));
            }
        }
    }
}

/// Tree prefixes of a resource row and of its comment lines.
///
/// Rule (OpenSVC's `print_status`, matching every comment line of the seed): a comment keeps
/// the vertical bars of the levels still open below it — column 0 while a later group follows
/// (always, except under hb), column 3 while a later sibling follows. A container that is not
/// last also keeps column 6 open: OpenSVC hangs the container's encapsulated resources there.
fn prefixes(block: Block, last: bool, rid: &str) -> (&'static str, &'static str) {
    match (block, last) {
        (Block::Hb, true) => ("   '- ", ""),
        (Block::Hb, false) => ("   |- ", "   |"),
        (_, true) => ("|  '- ", "|"),
        (Block::Avail, false) if group_of(rid) == "container" => ("|  |- ", "|  |  |"),
        (_, false) => ("|  |- ", "|  |"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{aggregate, Flags};

    fn res(rid: &str, status: Status, label: &str, comments: &[&str]) -> ResourceStatus {
        ResourceStatus {
            provisioned: None,
            rid: rid.into(),
            type_name: String::new(),
            label: label.into(),
            status,
            flags: Flags::default(),
            standby: false,
            comments: comments.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn plain(_: Status, w: &str) -> String {
        w.to_string()
    }

    #[test]
    fn empty_service_prints_the_three_groups() {
        let s = aggregate("svc", "n", String::new(), Vec::new(), Vec::new());
        assert_eq!(
            render_text(&s, &plain),
            "svc\noverall                   n/a\n|- avail                  n/a\n|- sync                   n/a\n'- hb                     n/a\n"
        );
    }

    #[test]
    fn hb_rows_and_last_avail_comments() {
        let rs = vec![
            res("hb#2", Status::Up, "b", &[]),
            res("hb#1", Status::Down, "a", &["no peer"]),
            res("fs#1", Status::Down, "x", &["not mounted"]),
            res("vg#1", Status::Up, "", &[]),
        ];
        let s = aggregate("svc", "n", String::new(), rs, Vec::new());
        let text = render_text(&s, &plain);
        let expected = "\
svc
overall                   warn
|- avail                  warn
|  |- vg#1           .... up
|  '- fs#1           .... down     x
|                                  # not mounted
|- sync                   n/a
'- hb                     warn
   |- hb#1           .... down     a
   |                               # no peer
   '- hb#2           .... up       b
";
        assert_eq!(text, expected);
    }

    #[test]
    fn paint_does_not_shift_columns() {
        let rs = vec![res("fs#1", Status::Up, "lbl", &[])];
        let s = aggregate("svc", "n", String::new(), rs, Vec::new());
        let text = render_text(&s, &|_, w: &str| format!("\x1b[32m{w}\x1b[0m"));
        assert!(text.contains("|  '- fs#1           .... \x1b[32mup\x1b[0m       lbl\n"));
    }

    #[test]
    fn long_words_push_columns_like_printf() {
        let rs = vec![res("container#verylongid", Status::StdbyDown, "l", &[])];
        let s = aggregate("svc", "n", String::new(), rs, Vec::new());
        let text = render_text(&s, &plain);
        assert!(text.contains("|  '- container#verylongid .... stdby down l\n"));
    }
}
