"""A standard SOAP client (zeep, from PyPI) against Tally's Enactor CustomerService, as a till's integrator would
use it: it loads the WSDL at ?wsdl and calls every operation the WSDL declares, on the SOAP 1.1 and the SOAP 1.2
port, with the demo data; then checks that refusals arrive as SOAP faults. Usage: soap_client_test.py BASE_URL"""

import sys
from decimal import Decimal

import requests
from zeep import Client
from zeep.exceptions import Fault
from zeep.transports import Transport

BASE = sys.argv[1].rstrip("/")
WSDL = f"{BASE}/axis2/services/CustomerService?wsdl"
CORE = "{http://www.enactor.com/core}"


def client(user, secret):
    session = requests.Session()
    session.auth = (user, secret)
    return Client(WSDL, transport=Transport(session=session))


def check(condition, what):
    if not condition:
        raise AssertionError(what)


till = client("demo-cashier", "demo-cashier-secret")
declared = set()
for service in till.wsdl.services.values():
    for port in service.ports.values():
        declared.update(port.binding._operations.keys())
check(declared == {"submitCustomerNameSearch", "submitCustomerPostcodeSearch", "submitLoyaltyAccountSearch",
                   "submitAccountBalanceEnquiry",
                   "submitAccountBalanceUpdate", "submitOrCancelAccountBalanceUpdate"},
      f"the WSDL's operations: {declared}")


def points(service):
    enquiry = service.submitAccountBalanceEnquiry(accountBalanceEnquiryRequest={"accountId": "DEMO-1"})
    return enquiry.accountBalanceEnquiryOutput.customerLoyaltyAccountTotal.pointsBalance


def soap(port):
    """The port's SOAP version, "11" or "12": its sales are told apart by it."""
    return "11" if "Soap11" in port else "12"


def update(port, transaction, amount, **extra):
    return {"transactionId": f"{soap(port)}-{transaction}", "deviceId": {"id": "pos1@0001.enactor"},
            "locationId": "0001", "accountId": "DEMO-1", "updateAmount": Decimal(amount), **extra}


expected_points = Decimal("500.00")  # the demo customer's, less what each port's sale below leaves
for port in ("CustomerServiceHttpSoap11Endpoint", "CustomerServiceHttpSoap12Endpoint"):
    service = till.bind("CustomerService", port)
    found = service.submitCustomerNameSearch(
        customerNameSearchRequest={"searchName": "petrova", "pageInfo": {"rowOffset": 0, "rowCount": 10}})
    check(found.totalRows == 1 and found.rowsPerPage == 10, f"{port}: name search totals {found}")
    row = found.contents[0]
    check(row.key.id == "DEMO-1" and row.descriptionProperty == "Anna Petrova", f"{port}: name search row {row}")
    check(row.data.values.arrayObject[:3] == ["DEMO-1", "Anna Petrova", "+79990000001"], f"{port}: values {row}")

    by_postcode = service.submitCustomerPostcodeSearch(customerPostcodeSearchRequest={"postcode": "nw1"})
    check(by_postcode.totalRows == 1 and by_postcode.contents[0].key.id == "DEMO-1", f"{port}: {by_postcode}")
    check(by_postcode.contents[0].data.values.arrayObject[8] == "NW1 6XE", f"{port}: {by_postcode}")

    enquiry = service.submitAccountBalanceEnquiry(accountBalanceEnquiryRequest={"accountId": "DEMO-1"})
    check(enquiry.outcome.name == "Success", f"{port}: enquiry outcome {enquiry.outcome}")
    address = enquiry.accountBalanceEnquiryOutput.customer.addresses[0]
    check((address.street1, address.postCode) == ("221B Baker Street", "NW1 6XE"), f"{port}: {address}")
    output = enquiry.accountBalanceEnquiryOutput
    check(output.customerCard.cardNumber == "7000000000010", f"{port}: card {output.customerCard}")
    check(output.customerLoyaltyAccountTotal.pointsBalance == expected_points, f"{port}: points {output}")

    accounts = service.submitLoyaltyAccountSearch(loyaltyAccountSearchRequest={"pan": "7000000000010"})
    ids = [a.accountBalanceEnquiryOutput.account.accountId for a in accounts]
    check(ids == ["DEMO-1", "DEP-DEMO-1"], f"{port}: account search (loyalty, then deposit) {ids}")
    none = service.submitAccountBalanceEnquiry(accountBalanceEnquiryRequest={"accountId": "NOBODY"})
    check(none.outcome.name == "NoAccount" and none.accountBalanceEnquiryOutput is None, f"{port}: {none}")
    unknown = service.submitLoyaltyAccountSearch(
        loyaltyAccountSearchRequest={"accountId": "DEMO-1", "accountType": "giftAccount"})
    check([a.outcome.name for a in unknown] == ["UnknownAccountType"], f"{port}: {unknown}")

    # A sale earns 10 points and spends 4 reserved during it; a retry is the first answer; a refund takes back 3.
    before = points(service)
    earned = service.submitAccountBalanceUpdate(accountBalanceUpdate=update(port, "S-1", "10"))
    check(earned.outcome.name == "Success", f"{port}: earn {earned}")
    check(earned.accountBalanceUpdateOutput.accountBalanceUpdate.updateAmount == Decimal("10"), f"{port}: {earned}")
    retry = service.submitAccountBalanceUpdate(accountBalanceUpdate=update(port, "S-1", "10"))
    check(retry.outcome.name == "Success" and points(service) == before + 10, f"{port}: retry applied twice")
    reserve = update(port, "S-1", "-4", status="PENDING")
    check(service.submitAccountBalanceUpdate(accountBalanceUpdate=reserve).outcome.name == "Success", port)
    check(points(service) == before + 6, f"{port}: reserved points still spendable")
    completed = service.submitOrCancelAccountBalanceUpdate(accountBalanceUpdate={**reserve, "status": "COMPLETE"})
    check(completed.outcome.name == "Success", f"{port}: complete {completed}")
    refund = update(port, "R-1", "-3", originalTransactionId=f"{soap(port)}-S-1",
                    originalTransactionDeviceId="pos1@0001.enactor")
    check(service.submitAccountBalanceUpdate(accountBalanceUpdate=refund).outcome.name == "Success", port)
    too_much = service.submitAccountBalanceUpdate(
        accountBalanceUpdate={**refund, "transactionId": f"{soap(port)}-R-2", "updateAmount": Decimal("-8")})
    check(too_much.outcome.name == "Fail" and "at most 7" in too_much.messages[0], f"{port}: {too_much}")
    check(points(service) == before + 3, f"{port}: points after the sale and its refund")
    expected_points += 3

    # The customer's deposit account: found by its type and number, paid from at the till.
    deposit = {"accountType": "customerDepositAccount", "accountId": "DEP-DEMO-1"}
    found = service.submitAccountBalanceEnquiry(accountBalanceEnquiryRequest=deposit)
    total = found.accountBalanceEnquiryOutput.accountTotal
    check(found.outcome.name == "Success" and found.accountBalanceEnquiryOutput.account.currencyId == "GBP", port)
    paid = service.submitAccountBalanceUpdate(accountBalanceUpdate={**update(port, "S-2", "-12.5"), **deposit})
    check(paid.outcome.name == "Success", f"{port}: deposit tender {paid}")
    after = service.submitAccountBalanceEnquiry(accountBalanceEnquiryRequest=deposit).accountBalanceEnquiryOutput
    check(after.accountTotal.balance == total.balance - Decimal("12.5"), f"{port}: deposit {after.accountTotal}")

    for caller, request, code in [
        (till, {"searchName": "a", "pageInfo": {"rowCount": 0}}, "InvalidRequest"),
        (client("demo-customer", "demo-customer-secret"), {"searchName": "a"}, "Forbidden"),
        (client("demo-cashier", "wrong"), {"searchName": "a"}, "Unauthorized"),
    ]:
        try:
            caller.bind("CustomerService", port).submitCustomerNameSearch(customerNameSearchRequest=request)
        except Fault as fault:
            codes = [e.text for e in fault.detail.iter(f"{CORE}errorCode")] if fault.detail is not None else []
            check(codes == [code], f"{port}: fault detail {codes}, wanted {code}")
        else:
            raise AssertionError(f"{port}: {request} was not refused")

print("SOAP client: every operation of the WSDL answered on SOAP 1.1 and 1.2; refusals are faults")
