//! The JSON answers of the order-details, reissue and subaccount-order
//! endpoints, through the exporter's own decoding (`wire::decode`: a JSON
//! object or an error): any bytes decode or fail, never panic.
#![no_main]

use certcentral_exporter::certcentral::wire::{
    OrderInfo, ReissueList, SubaccountOrderList, decode,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode::<OrderInfo>(data);
    let _ = decode::<ReissueList>(data);
    let _ = decode::<SubaccountOrderList>(data);
    // And the derive alone, which the decoding is built on.
    let _ = serde_json::from_slice::<OrderInfo>(data);
});
