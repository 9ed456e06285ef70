//! The demo data of a first embedded start: a merchant with well-known API clients, a few cards and contacts with a
//! balance, a business with a promotion and a wallet clip, so that the README's examples work as written.

use chrono::{Duration as Days, Utc};
use rust_decimal::Decimal;
use tally_events::{
    Address, BonusType, BusinessRegistered, CardCategory, CardType, CatalogueItem, ContactDetails, MoneyAccountOpened,
    MoneyAccountType, PromotionPublished, Role,
};
use uuid::Uuid;

use crate::{
    app::App,
    commands::{Command, Outcome, Stream, Target},
    contacts,
    domain::{
        account::{AccountAggregate, AccountCommand},
        card::{CardAggregate, CardCommand},
        catalogue::{CatalogueAggregate, CatalogueCommand},
        contact::ContactAggregate,
        money::{MoneyAggregate, MoneyCommand},
        notification::{Template, TemplateAggregate},
        promotion::{BusinessAggregate, PromotionAggregate, PromotionCommand},
    },
    jobs::system,
    store::{
        merchants::{self, Merchant},
        staff::{self, SignIn},
    },
};

/// The demo merchant's well-known credentials, printed on the first embedded start so the README's examples work.
pub const DEMO_CLIENTS: [(&str, &str, Role); 3] = [
    ("demo-admin", "demo-admin-secret", Role::Administrator),
    ("demo-cashier", "demo-cashier-secret", Role::CcOperator),
    ("demo-customer", "demo-customer-secret", Role::Client),
];

/// The demo merchant's staff member who signs in to Footprints: username, password and PIN.
pub const DEMO_HOSTESS: (&str, &str, &str) = ("demo-hostess", "demo-hostess-secret", "1234567890");

/// The demo catalogue: what the README's lead names (`locationId=L1&offerCategoryId=OC1&offerId=O1&consultantId=C1`).
fn catalogue() -> [(&'static str, CatalogueItem); 4] {
    [
        (
            "L1",
            CatalogueItem::Location {
                name: "Mega Mall".into(),
                description: None,
                address: Some("1 Main Street".into()),
                area_id: None,
                country: Some("Romania".into()),
                county: Some("Cluj".into()),
                coords: Some([Decimal::new(236, 1), Decimal::new(4677, 2)]),
                image: None,
            },
        ),
        ("OC1", CatalogueItem::OfferCategory { name: "Catalog 1".into() }),
        (
            "O1",
            CatalogueItem::Offer {
                name: "Offer 1".into(),
                price: Decimal::from(250),
                external_id: None,
                offer_category_id: "OC1".into(),
            },
        ),
        (
            "C1",
            CatalogueItem::BusinessUser {
                first_name: "Ion".into(),
                last_name: "Pop".into(),
                email: "ion.pop@example.com".into(),
                phone: None,
                group_role: "sales".into(),
                role: "consultant".into(),
                location_ids: vec!["L1".into()],
                offer_category_ids: vec!["OC1".into()],
            },
        ),
    ]
}

/// On a first embedded start (no merchant yet): a demo merchant, its clients, and a few cards and contacts.
pub async fn seed(app: &App) -> anyhow::Result<()> {
    let demo = Merchant {
        tenant: "demo".into(),
        name: "Demo Store".into(),
        time_zone: "UTC".into(),
        required_contact_fields: vec!["name".into(), "mobile_number".into()],
    };
    if merchants::any(&app.db.read).await? {
        return Ok(());
    }
    merchants::create(&app.db.write, &demo).await?;
    for (client_id, secret, role) in DEMO_CLIENTS {
        merchants::create_client(&app.db.write, client_id, secret, &demo.tenant, role).await?;
    }
    let (username, password, pin) = DEMO_HOSTESS;
    let sign_in = SignIn { username: Some(username), password: Some(password), pin: Some(pin) };
    staff::create(&app.db.write, &demo.tenant, "Test Hostess", Role::Marketer, sign_in).await?;
    let run = |target| async {
        match app.executor.execute(Command::new("demo", system("demo-seed"), target)).await? {
            Outcome::Executed { result: Ok(_), .. } => Ok(()),
            other => Err(anyhow::anyhow!("demo seeding was refused: {other:?}")),
        }
    };
    let cards = (1..=5).chain([10]).map(|n| {
        let number = format!("70000000000{n:02}");
        let command = CardCommand::Register {
            number: number.clone(),
            category: CardCategory::Plastic,
            card_type: CardType::BonusDiscount,
        };
        CardAggregate::target(number, command)
    });
    run(Target::all(cards)).await?;
    let welcome = Template {
        subject: "Welcome to Demo Store, {{firstName}}".into(),
        body: "Hello {{firstName}} {{lastName}},\n\nthank you for your visit.\n".into(),
    };
    run(TemplateAggregate::target("welcome".into(), welcome)).await?;
    run(Target::all(
        catalogue().map(|(id, item)| CatalogueAggregate::target(id.into(), CatalogueCommand::Declare(Box::new(item)))),
    ))
    .await?;
    let anna = Uuid::now_v7();
    for (contact_id, code, name, mobile, street, postcode) in [
        (anna, "DEMO-1", "Anna Petrova", "+79990000001", "221B Baker Street", "NW1 6XE"),
        (Uuid::now_v7(), "DEMO-2", "Boris Ivanov", "+79990000002", "10 Downing Street", "SW1A 2AA"),
    ] {
        let address = Address {
            street1: Some(street.into()),
            town: Some("London".into()),
            postcode: Some(postcode.into()),
            country: Some("GB".into()),
            ..Default::default()
        };
        let details = ContactDetails {
            name: Some(name.into()),
            mobile_number: Some(mobile.into()),
            address: Some(address),
            ..Default::default()
        };
        let register = contacts::register(app, &demo.tenant, contact_id, code.into(), &details).await?;
        run(ContactAggregate::target(contact_id, register)).await?;
    }
    let card = |command| CardAggregate::target("7000000000010".into(), command);
    run(card(CardCommand::Issue)).await?;
    run(card(CardCommand::BindTo { contact_id: anna, contact_live_card: None })).await?;
    run(card(CardCommand::Activate { contact_data_sufficient: true })).await?;
    for (amount, bonus_type) in [(Decimal::new(50000, 2), BonusType::Cash), (Decimal::from(100), BonusType::Status)] {
        let command = AccountCommand::Accrue {
            lot_id: Uuid::now_v7(),
            amount,
            bonus_type,
            active_from: None,
            expires_at: Some(Utc::now() + Days::days(365)),
            reference: Some("welcome bonus".into()),
            sale: None,
        };
        run(AccountAggregate::target(anna, command)).await?;
    }
    let deposit = MoneyAccountOpened {
        account_type: MoneyAccountType::Deposit,
        account_id: "DEP-DEMO-1".into(),
        contact_id: Some(anna),
        currency: "GBP".into(),
        credit_limit: None,
        allowance: None,
        period: None,
    };
    let deposit_key = (MoneyAccountType::Deposit, "DEP-DEMO-1".to_owned());
    run(MoneyAggregate::target(deposit_key.clone(), MoneyCommand::Open(deposit))).await?;
    let top_up = MoneyCommand::PayIn {
        movement_id: Uuid::now_v7(),
        amount: Decimal::from(100),
        reference: Some("opening deposit".into()),
        sale: None,
    };
    run(MoneyAggregate::target(deposit_key, top_up)).await?;
    let business = BusinessRegistered { business_id: "CB-1001".into(), name: "Demo Coffee".into() };
    run(BusinessAggregate::target("CB-1001".into(), business)).await?;
    let promotion = |command| PromotionAggregate::target(("CB-1001".into(), "ITEM-77".into()), command);
    run(promotion(PromotionCommand::Publish(PromotionPublished {
        business_id: "CB-1001".into(),
        promotion_id: "ITEM-77".into(),
        title: "Second coffee free".into(),
        cap: 500,
        ends_at: Utc::now() + Days::days(365),
        price_per_use: Decimal::new(150, 2),
        price_per_clip: Decimal::new(10, 2),
    })))
    .await?;
    let clip = PromotionCommand::Clip {
        wallet_item_id: "W-9001".into(),
        customer_key: Some("CUST-42".into()),
        billed: true,
        business_day: Utc::now().date_naive(),
    };
    run(promotion(clip)).await?;
    println!("First start: created the demo merchant `demo` with these API clients (Basic auth):");
    for (client_id, secret, role) in DEMO_CLIENTS {
        println!("  {client_id}:{secret}  (role {})", role.as_str());
    }
    println!("Demo cards 7000000000001..05 are New; 7000000000010 is Active for Anna (+79990000001, code DEMO-1).");
    println!("Anna has a deposit account DEP-DEMO-1 holding GBP 100.");
    println!("Demo business CB-1001 has promotion ITEM-77 (cap 500); wallet item W-9001 is a clip of it.");
    let (username, password, pin) = DEMO_HOSTESS;
    println!("Footprints: staff member Test Hostess signs in as {username}:{password} or with PIN {pin}.");
    Ok(())
}
