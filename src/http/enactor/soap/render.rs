//! The SOAP answers' XML: the paged customer list, enquiry responses and update responses, in the `core` and
//! `retail` namespaces as the WSDL declares them.

use std::fmt::Write;

use quick_xml::escape::escape;

use super::{CORE, RETAIL, XSI};
use crate::http::enactor::{
    accounts::{self, Customer, Enquired},
    customers::PagedArrayList,
    updates::{BalanceUpdate, UpdateResponse},
};

/// Appends `<retail:{name}>value</retail:{name}>` when there is a value.
fn leaf(out: &mut String, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        let _ = write!(out, "<retail:{name}>{}</retail:{name}>", escape(value));
    }
}

/// A customer search's answer: `<core:{operation}Response>` holding the paged array list.
pub(super) fn paged_array_list(operation: &str, list: &PagedArrayList) -> String {
    let mut out = format!(
        r#"<core:{operation}Response xmlns:core="{CORE}" xmlns:retail="{RETAIL}" xmlns:xsi="{XSI}"><core:pagedArrayList rowsPerPage="{}" currentRowOffset="{}" totalRows="{}">"#,
        list.rows_per_page, list.current_row_offset, list.total_rows
    );
    let array = |out: &mut String, name: &str, items: &mut dyn Iterator<Item = Option<&str>>| {
        let _ = write!(out, "<core:{name}>");
        for item in items {
            match item {
                Some(value) => {
                    let _ = write!(out, "<core:arrayObject>{}</core:arrayObject>", escape(value));
                }
                None => out.push_str(r#"<core:arrayObject xsi:nil="true"/>"#),
            }
        }
        let _ = write!(out, "</core:{name}>");
    };
    for element in &list.contents {
        let _ = write!(
            out,
            "<core:contents><core:key><retail:id>{}</retail:id></core:key>\
             <core:descriptionProperty>{}</core:descriptionProperty><core:data>",
            escape(element.key.id.as_str()),
            escape(element.description_property.as_str())
        );
        array(&mut out, "values", &mut element.data.values.iter().map(Option::as_deref));
        array(&mut out, "properties", &mut element.data.properties.iter().map(|p| Some(*p)));
        out.push_str("</core:data></core:contents>");
    }
    let _ = write!(out, "</core:pagedArrayList></core:{operation}Response>");
    out
}

pub(super) fn account_search(found: accounts::Found) -> String {
    let mut body = format!(r#"<core:submitLoyaltyAccountSearchResponse xmlns:core="{CORE}">"#);
    match found {
        accounts::Found::UnknownType => enquiry(&mut body, "UnknownAccountType", None),
        accounts::Found::Accounts(list) => {
            for enquired in list {
                enquiry(&mut body, "Success", Some(enquired));
            }
        }
    }
    body.push_str("</core:submitLoyaltyAccountSearchResponse>");
    body
}

/// Appends a `retail:accountBalanceEnquiryResponse`.
pub(super) fn enquiry(out: &mut String, outcome: &str, enquired: Option<Enquired>) {
    let _ = write!(
        out,
        r#"<retail:accountBalanceEnquiryResponse xmlns:retail="{RETAIL}"><retail:outcome><retail:name>{outcome}</retail:name></retail:outcome>"#
    );
    if let Some(found) = enquired {
        let account = &found.account;
        out.push_str("<retail:accountBalanceEnquiryOutput><retail:account>");
        leaf(out, "accountId", Some(&account.account_id));
        leaf(out, "accountType", Some(account.account_type));
        leaf(out, "status", Some(account.status));
        leaf(out, "customerNumber", account.customer_number.as_deref());
        leaf(out, "currencyId", Some(&account.currency_id));
        leaf(out, "loyaltySchemeId", account.loyalty_scheme_id);
        leaf(out, "manualTierReview", account.manual_tier_review.map(|review| if review { "true" } else { "false" }));
        out.push_str("</retail:account>");
        leaf(out, "accountDescription", Some(found.account_description));
        if let Some(customer) = &found.customer {
            customer_element(out, customer);
        }
        if let Some(card) = &found.customer_card {
            out.push_str("<retail:customerCard>");
            leaf(out, "cardNumber", Some(&card.card_number));
            leaf(out, "status", Some(card.status));
            out.push_str("</retail:customerCard>");
        }
        if let Some(total) = &found.customer_loyalty_account_total {
            out.push_str("<retail:customerLoyaltyAccountTotal>");
            leaf(out, "pointsBalance", Some(&total.points_balance));
            leaf(out, "pendingPoints", Some(&total.pending_points));
            leaf(out, "frozenPoints", Some(&total.frozen_points));
            leaf(out, "statusPoints", Some(&total.status_points));
            leaf(out, "nextExpiryDate", total.next_expiry_date.map(|ms| ms.to_string()).as_deref());
            leaf(out, "nextExpiryPoints", total.next_expiry_points.as_deref());
            out.push_str("</retail:customerLoyaltyAccountTotal>");
        }
        if let Some(total) = &found.account_total {
            out.push_str("<retail:accountTotal>");
            leaf(out, "balance", Some(&total.balance));
            leaf(out, "available", Some(&total.available));
            leaf(out, "creditLimit", total.credit_limit.as_deref());
            leaf(out, "allowance", total.allowance.as_deref());
            leaf(out, "spentThisPeriod", total.spent_this_period.as_deref());
            out.push_str("</retail:accountTotal>");
        }
        out.push_str("</retail:accountBalanceEnquiryOutput>");
    }
    out.push_str("</retail:accountBalanceEnquiryResponse>");
}

/// Appends a `retail:customer`.
fn customer_element(out: &mut String, customer: &Customer) {
    out.push_str("<retail:customer>");
    leaf(out, "customerNumber", Some(&customer.customer_number));
    leaf(out, "name", customer.name.as_deref());
    leaf(out, "emailAddress", customer.email_address.as_deref());
    leaf(out, "mobilePhoneNumber", customer.mobile_phone_number.as_deref());
    for address in &customer.addresses {
        out.push_str("<retail:addresses>");
        leaf(out, "street1", address.street1.as_deref());
        leaf(out, "street2", address.street2.as_deref());
        leaf(out, "town", address.town.as_deref());
        leaf(out, "county", address.county.as_deref());
        leaf(out, "postCode", address.post_code.as_deref());
        leaf(out, "country", address.country.as_deref());
        out.push_str("</retail:addresses>");
    }
    out.push_str("</retail:customer>");
}

/// The `retail:accountBalanceUpdateResponse` of an update, wrapped in the operation's response element.
pub(super) fn update(operation: &str, response: &UpdateResponse) -> String {
    let mut out = format!(
        r#"<core:{operation}Response xmlns:core="{CORE}" xmlns:retail="{RETAIL}"><retail:accountBalanceUpdateResponse><retail:outcome><retail:name>{}</retail:name></retail:outcome>"#,
        response.outcome.name
    );
    if let Some(output) = &response.account_balance_update_output {
        out.push_str("<retail:accountBalanceUpdateOutput><retail:accountBalanceUpdate>");
        balance_update(&mut out, &output.account_balance_update);
        out.push_str("</retail:accountBalanceUpdate></retail:accountBalanceUpdateOutput>");
    }
    for message in &response.messages {
        leaf(&mut out, "messages", Some(message));
    }
    let _ = write!(out, "</retail:accountBalanceUpdateResponse></core:{operation}Response>");
    out
}

/// The fields of an update, in the WSDL's order.
fn balance_update(out: &mut String, update: &BalanceUpdate) {
    let text = |value: &Option<String>| value.as_deref().map(str::to_owned);
    leaf(out, "transactionId", Some(&update.transaction_id));
    let _ = write!(out, "<retail:deviceId><retail:id>{}</retail:id></retail:deviceId>", escape(&update.device_id.id));
    for (name, value) in [
        ("locationId", text(&update.location_id)),
        ("accountId", text(&update.account_id)),
        ("accountType", text(&update.account_type)),
        ("cardNumber", text(&update.card_number)),
        ("currencyId", text(&update.currency_id)),
        ("updateAmount", Some(update.update_amount.to_string())),
        ("dateTimeUpdated", update.date_time_updated.map(|ms| ms.to_string())),
        ("expiryTime", update.expiry_time.map(|ms| ms.to_string())),
        ("status", text(&update.status)),
        ("referenceId", text(&update.reference_id)),
        ("originalTransactionId", text(&update.original_transaction_id)),
        ("originalTransactionDeviceId", text(&update.original_transaction_device_id)),
    ] {
        leaf(out, name, value.as_deref());
    }
}
