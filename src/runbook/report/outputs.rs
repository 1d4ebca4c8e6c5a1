//! The step outputs beside the report: `RUN.outputs/NN-STEP.txt`, one file per step record
//! whose journal detail holds the command's output (NN is the record's seq), so an auditor
//! reads what the nodes answered without digging in the journal.

use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr};

use super::model::Report;
use crate::runbook::journal::Record;

/// Writes the outputs `report.outputs` lists, from `recs`, under `dir` (the report's directory);
/// returns the files written.
pub fn write_outputs(dir: &Path, recs: &[Record], report: &Report) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for o in &report.outputs {
        let Some(text) = recs
            .iter()
            .find(|r| r.seq == o.seq)
            .and_then(|r| r.detail["output"].as_str())
        else {
            continue;
        };
        let path = dir.join(&o.file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .wrap_err_with(|| format!("creating {}", parent.display()))?;
        }
        crate::paths::write_atomic(&path, text.as_bytes())
            .wrap_err_with(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
