// Package transfer moves records between files and the record store: it
// imports CSV (with a column mapping) and NDJSON into any object through
// records.Importer, validated with the same rules as single writes, with a
// per-row error report and progress, and exports an object's live records
// as CSV or NDJSON. Both stream: memory stays flat whatever the file size.
//
// The file formats, the column mapping and the conversion of CSV text to
// values are described in docs/import-export.md.
package transfer
