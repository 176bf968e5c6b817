//! The order report's CSV page parser: any bytes, alone or after the
//! documented header, give a page or an error, never a panic; every record
//! is accounted for.
#![no_main]

use certcentral_exporter::certcentral::report::{ParseContext, parse_page};
use libfuzzer_sys::fuzz_target;

const HEADER: &[u8] = b"order_id,date_created,container_id,container_name,status,organization_id,organization_name,validity_years,signature_hash,common_name,product_name_id,csr,valid_from,valid_till,certificate_tracker_id,is_renewed,renewed_order_id,is_out_of_contract,disable_renewal_notifications,auto_renew,thumbprint,serial_number,has_duplicates\n";

fuzz_target!(|data: &[u8]| {
    let mut context = ParseContext::default();
    if let Ok(page) = parse_page(data, &mut context) {
        assert_eq!(page.rows.len() + page.skipped.len(), page.records);
    }
    let mut with_header = HEADER.to_vec();
    with_header.extend_from_slice(data);
    if let Ok(page) = parse_page(&with_header, &mut context) {
        assert_eq!(page.rows.len() + page.skipped.len(), page.records);
    }
});
