//! Reads shared by the dialects: cards, contacts and balances from the inline projections, scoped to one tenant.

use std::{
    collections::{HashMap, HashSet},
    sync::RwLock,
    time::{Duration, Instant},
};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use tally_projections::{
    find_contact_by_code, find_contact_by_mobile, find_live_card, load_account, load_card, load_contact,
    load_money_account, money_accounts_of, postcode_key, search_contacts_by_name, search_contacts_by_postcode,
    search_form, AccountView, BonusBucket, CardView, ContactView, CustomerView, MachineView, MoneyAccountView,
    NotificationTemplateView, NotificationView, VendView,
};
use uuid::Uuid;

use crate::store::{merchants, Db, StoreError};

pub async fn card(db: &Db, tenant: &str, number: &str) -> Result<Option<CardView>, StoreError> {
    Ok(load_card(&mut *db.read.acquire().await?, tenant, number).await?)
}

pub async fn contact(db: &Db, tenant: &str, contact_id: Uuid) -> Result<Option<ContactView>, StoreError> {
    Ok(load_contact(&mut *db.read.acquire().await?, tenant, contact_id).await?)
}

pub async fn customer(db: &Db, tenant: &str, customer_id: Uuid) -> Result<Option<CustomerView>, StoreError> {
    Ok(tally_projections::load_customer(&mut *db.read.acquire().await?, tenant, customer_id).await?)
}

pub async fn template(db: &Db, tenant: &str, key: &str) -> Result<Option<NotificationTemplateView>, StoreError> {
    Ok(tally_projections::load_template(&mut *db.read.acquire().await?, tenant, key).await?)
}

pub async fn notification(db: &Db, tenant: &str, id: Uuid) -> Result<Option<NotificationView>, StoreError> {
    Ok(tally_projections::load_notification(&mut *db.read.acquire().await?, tenant, id).await?)
}

/// Tally's reference of the purchase the vending platform's reference names (Tally's own, or the one the platform
/// renamed it to).
pub async fn vend_by_platform_ref(db: &Db, tenant: &str, platform_ref: &str) -> Result<Option<String>, StoreError> {
    Ok(tally_projections::find_vend(&mut *db.read.acquire().await?, tenant, platform_ref).await?)
}

/// A purchase by Tally's reference.
pub async fn vend(db: &Db, tenant: &str, txn_ref: &str) -> Result<Option<VendView>, StoreError> {
    Ok(tally_projections::load_vend(&mut *db.read.acquire().await?, tenant, txn_ref).await?)
}

/// What a machine's feed says.
pub async fn machine(db: &Db, tenant: &str, vm_id: &str) -> Result<Option<MachineView>, StoreError> {
    Ok(tally_projections::load_machine(&mut *db.read.acquire().await?, tenant, vm_id).await?)
}

pub async fn contact_by_mobile(db: &Db, tenant: &str, mobile: &str) -> Result<Option<ContactView>, StoreError> {
    Ok(find_contact_by_mobile(&mut *db.read.acquire().await?, tenant, mobile).await?)
}

pub async fn contact_by_code(db: &Db, tenant: &str, code: &str) -> Result<Option<ContactView>, StoreError> {
    Ok(find_contact_by_code(&mut *db.read.acquire().await?, tenant, code).await?)
}

/// What a customer search looks for.
#[derive(Debug, Clone, Copy)]
pub enum CustomerSearch<'a> {
    /// The start of a name or surname, in any case and spacing: ordered by surname.
    Name(&'a str),
    /// The start of a postcode, in any case, with or without spaces: ordered by postcode, then surname.
    Postcode(&'a str),
}

/// A page of the contacts a search finds, and how many it finds in all.
pub async fn search_contacts(
    db: &Db,
    tenant: &str,
    search: CustomerSearch<'_>,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<ContactView>), StoreError> {
    let conn = &mut *db.read.acquire().await?;
    Ok(match search {
        CustomerSearch::Name(text) => search_contacts_by_name(conn, tenant, &search_form(text), offset, limit).await?,
        CustomerSearch::Postcode(text) => {
            search_contacts_by_postcode(conn, tenant, &postcode_key(text), offset, limit).await?
        }
    })
}

/// A money account.
pub async fn money_account(
    db: &Db,
    tenant: &str,
    account_type: tally_events::MoneyAccountType,
    account_id: &str,
) -> Result<Option<MoneyAccountView>, StoreError> {
    Ok(load_money_account(&mut *db.read.acquire().await?, tenant, account_type, account_id).await?)
}

/// The money accounts of a customer.
pub async fn money_accounts(db: &Db, tenant: &str, contact_id: Uuid) -> Result<Vec<MoneyAccountView>, StoreError> {
    Ok(money_accounts_of(&mut *db.read.acquire().await?, tenant, contact_id).await?)
}

/// The contact's card that is not blocked for replacement.
pub async fn live_card(db: &Db, tenant: &str, contact_id: Uuid) -> Result<Option<CardView>, StoreError> {
    Ok(find_live_card(&mut *db.read.acquire().await?, tenant, contact_id).await?)
}

/// How long merchant settings are served from memory before they are read again.
const SETTINGS_TTL: Duration = Duration::from_secs(10);
/// Contacts remembered as existing at most; the set is emptied past this.
const MAX_KNOWN_CONTACTS: usize = 1_000_000;

/// A wall-clock time in `zone` as UTC (the earlier reading when a clock change makes it ambiguous); none for a time
/// the clock skips.
pub fn in_zone(local: NaiveDateTime, zone: Tz) -> Option<DateTime<Utc>> {
    zone.from_local_datetime(&local).earliest().map(|at| at.with_timezone(&Utc))
}

/// When `day` begins in `zone`, as UTC.
pub fn day_start(day: NaiveDate, zone: Tz) -> Option<DateTime<Utc>> {
    in_zone(day.and_hms_opt(0, 0, 0).expect("midnight exists"), zone)
}

/// What request handlers would otherwise read from the database on every request: merchant settings (for a few
/// seconds) and the fact that a contact exists (for good: contacts are never deleted).
#[derive(Default)]
pub struct ReadCache {
    merchants: RwLock<HashMap<String, (Instant, Option<merchants::Merchant>)>>,
    known_contacts: RwLock<HashSet<(String, Uuid)>>,
}

impl ReadCache {
    /// The merchant's settings, read again after a few seconds.
    pub async fn merchant(&self, db: &Db, tenant: &str) -> Result<Option<merchants::Merchant>, StoreError> {
        if let Some((read_at, merchant)) = self.merchants.read().expect("lock").get(tenant) {
            if read_at.elapsed() < SETTINGS_TTL {
                return Ok(merchant.clone());
            }
        }
        let merchant = merchants::get(&db.read, tenant).await?;
        self.merchants.write().expect("lock").insert(tenant.to_owned(), (Instant::now(), merchant.clone()));
        Ok(merchant)
    }

    /// The merchant's time zone, in which its days are cut (UTC when unknown).
    pub async fn time_zone(&self, db: &Db, tenant: &str) -> Result<Tz, StoreError> {
        let merchant = self.merchant(db, tenant).await?;
        Ok(merchant.and_then(|m| m.time_zone.parse().ok()).unwrap_or(Tz::UTC))
    }

    /// Whether the contact has every field the merchant requires to activate a card.
    pub async fn data_sufficient(&self, db: &Db, contact: &ContactView) -> Result<bool, StoreError> {
        let required = self.merchant(db, &contact.tenant).await?.map(|m| m.required_contact_fields).unwrap_or_default();
        let filled = contact.filled_fields();
        Ok(required.iter().all(|field| filled.contains(&field.as_str())))
    }

    /// Whether the contact is registered.
    pub async fn contact_exists(&self, db: &Db, tenant: &str, contact_id: Uuid) -> Result<bool, StoreError> {
        let key = (tenant.to_owned(), contact_id);
        if self.known_contacts.read().expect("lock").contains(&key) {
            return Ok(true);
        }
        let exists = contact(db, tenant, contact_id).await?.is_some();
        if exists {
            let mut known = self.known_contacts.write().expect("lock");
            if known.len() >= MAX_KNOWN_CONTACTS {
                known.clear();
            }
            known.insert(key);
        }
        Ok(exists)
    }
}

/// A card with its contact and the contact's balance buckets at `now`.
#[derive(Debug, Clone)]
pub struct CardBalance {
    pub card: CardView,
    pub contact: Option<ContactView>,
    pub buckets: Vec<BonusBucket>,
}

pub async fn card_balance(db: &Db, card: CardView, now: DateTime<Utc>) -> Result<CardBalance, StoreError> {
    let Some(contact_id) = card.contact_id else {
        let buckets = empty_account(&card.tenant, Uuid::nil()).buckets(now);
        return Ok(CardBalance { card, contact: None, buckets });
    };
    let contact = contact(db, &card.tenant, contact_id).await?;
    let buckets = account(db, &card.tenant, contact_id).await?.buckets(now);
    Ok(CardBalance { card, contact, buckets })
}

/// The contact's account view; an account with no movements yet is empty.
pub async fn account(db: &Db, tenant: &str, contact_id: Uuid) -> Result<AccountView, StoreError> {
    let view = load_account(&mut *db.read.acquire().await?, tenant, contact_id).await?;
    Ok(view.unwrap_or_else(|| empty_account(tenant, contact_id)))
}

fn empty_account(tenant: &str, contact_id: Uuid) -> AccountView {
    AccountView {
        tenant: tenant.to_owned(),
        contact_id,
        frozen: false,
        lots: Default::default(),
        burnt: Default::default(),
        reservations: Default::default(),
    }
}
