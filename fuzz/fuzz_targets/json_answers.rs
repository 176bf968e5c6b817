//! The JSON answers of the order-details, reissue and subaccount-order
//! endpoints: any bytes decode or fail, never panic.
#![no_main]

use certcentral_exporter::certcentral::wire::{OrderInfo, ReissueList, SubaccountOrderList};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<OrderInfo>(data);
    let _ = serde_json::from_slice::<ReissueList>(data);
    let _ = serde_json::from_slice::<SubaccountOrderList>(data);
});
