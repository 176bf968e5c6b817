//! Order report pages for CertCentral stand-ins: the API page's sample
//! (`tests/data/report-sample.csv`), and rows of a test's own made from its
//! first order, so that a test sets only the columns it is about.

/// The sample report, as the API page shows it.
pub const SAMPLE: &str = include_str!("../../../tests/data/report-sample.csv");

/// The sample's header and its first order, the template of new rows.
pub struct ReportTemplate {
    header: Vec<String>,
    row: Vec<String>,
}

impl ReportTemplate {
    /// From [`SAMPLE`].
    pub fn sample() -> ReportTemplate {
        let mut reader = csv::Reader::from_reader(SAMPLE.as_bytes());
        let header = reader
            .headers()
            .expect("the sample's header")
            .iter()
            .map(str::to_owned)
            .collect();
        let row = reader
            .records()
            .next()
            .expect("the sample's first order")
            .expect("a readable record")
            .iter()
            .map(str::to_owned)
            .collect();
        ReportTemplate { header, row }
    }

    /// The template's row with the named columns set.
    pub fn row(&self, columns: &[(&str, String)]) -> Vec<String> {
        let mut row = self.row.clone();
        for (name, value) in columns {
            let at = self
                .header
                .iter()
                .position(|h| h == name)
                .unwrap_or_else(|| panic!("no column {name} in the sample"));
            row[at] = value.clone();
        }
        row
    }

    /// A report page of `rows`, with the header, as CSV.
    pub fn page(&self, rows: impl IntoIterator<Item = Vec<String>>) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(&self.header).expect("write the header");
        for row in rows {
            writer.write_record(&row).expect("write a row");
        }
        String::from_utf8(writer.into_inner().expect("the CSV")).expect("UTF-8")
    }
}
