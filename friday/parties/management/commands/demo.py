"""`friday demo [--seed N]`: load a sample plumbing & heating business with nine months of history, once."""

from __future__ import annotations

import datetime as dt
import io
import random
import secrets
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import IO, Any, cast

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from friday.accounts import services as account_services
from friday.accounts.models import Role, Scope, Team, User
from friday.core import clock
from friday.core.errors import FridayError
from friday.parties import services
from friday.parties.models import Activity, ActivityKind, Party, PartyKind, PartyRole, RoleName

BUSINESS = "Hartley Plumbing & Heating"
# The marker: when this user exists the demo has been loaded (the load is one transaction, so all or nothing).
MARKER_USERNAME = "sarah.hartley"
ADMIN_USERNAME = "admin"
HISTORY_DAYS = 272  # about nine months: the business "started using Friday" this many days ago
CUSTOMER_PEOPLE = 80
NEW_CUSTOMERS = 18  # of CUSTOMER_PEOPLE, won during the nine months; the rest were typed in on day one
LANDLORDS = 10
# example.com/.org/.net and their subdomains are reserved (RFC 2606): demo mail can never reach a real person.
STAFF_DOMAIN = "hartleyheating.example.com"
PRIVATE_DOMAINS = ("example.com", "example.org", "example.net")
# Ofcom's drama ranges that libphonenumber accepts as valid (01632 960xxx and 07700 900xxx it rejects):
# Manchester for nearly everyone, Leeds/Liverpool/Birmingham/London for firms further afield.
MANCHESTER = "0161 496 0{:03d}"
ELSEWHERE = ("0113 496 0{:03d}", "0151 496 0{:03d}", "0121 496 0{:03d}", "020 7946 0{:03d}")
OFFICE_NUMBER = "0161 496 0000"  # the business's own number, quoted in emails; never given to a party


# --- who works here ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffSpec:
    username: str
    first: str
    last: str
    role: str
    scope: str
    team: str
    job_title: str
    birthday: dt.date


STAFF = (
    StaffSpec(
        MARKER_USERNAME,
        "Sarah",
        "Hartley",
        Role.MANAGER,
        Scope.ALL,
        "",
        "Managing director",
        dt.date(1974, 6, 12),
    ),
    StaffSpec(
        "priya.shah",
        "Priya",
        "Shah",
        Role.MEMBER,
        Scope.ALL,
        "Office",
        "Office coordinator",
        dt.date(1989, 11, 3),
    ),
    StaffSpec(
        "tom.briggs",
        "Tom",
        "Briggs",
        Role.MEMBER,
        Scope.ALL,
        "Field",
        "Heating engineer",
        dt.date(1986, 4, 21),
    ),
    StaffSpec(
        "kwame.asante",
        "Kwame",
        "Asante",
        Role.MEMBER,
        Scope.ALL,
        "Field",
        "Plumbing & heating engineer",
        dt.date(1992, 9, 30),
    ),
    StaffSpec(
        "margaret.lowe",
        "Margaret",
        "Lowe",
        Role.READ_ONLY,
        Scope.ALL,
        "Office",
        "Bookkeeper (part-time)",
        dt.date(1961, 1, 17),
    ),
)
TEAMS = {
    "Office": "Bookings, quotes, invoices and the phone",
    "Field": "Engineers on the road: services, repairs and installations",
}


# --- who we work with -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgSpec:
    name: str
    role: str
    domain: str
    tags: tuple[str, ...]
    contacts: tuple[str, ...] = ()  # job titles of the people there who are our customers
    line1: str = ""
    city: str = "Manchester"
    postcode: str = ""
    phone_format: str = MANCHESTER
    kind: str = "commercial"  # which history the organisation gets: commercial, agent, supplier, partner
    notes: str = ""


ORGANISATIONS = (
    OrgSpec(
        "Brookfield Dental Practice",
        RoleName.CUSTOMER,
        "brookfielddental.example.com",
        ("commercial", "maintenance contract"),
        ("Practice manager",),
        "212 Palatine Road",
        "Manchester",
        "M20 2UE",
        notes="Surgery hours 8–6; engineers must sign in at reception and avoid the treatment rooms.",
    ),
    OrgSpec(
        "The Quayside Café",
        RoleName.CUSTOMER,
        "quaysidecafe.example.com",
        ("commercial",),
        ("Owner",),
        "3 Wharf Parade",
        "Salford",
        "M50 3AZ",
    ),
    OrgSpec(
        "Ashworth & Finch Solicitors",
        RoleName.CUSTOMER,
        "ashworthfinch.example.com",
        ("commercial", "VIP"),
        ("Office manager",),
        "41 Kingsgate Street",
        "Manchester",
        "M2 4WB",
    ),
    OrgSpec(
        "Holly Bank Care Home",
        RoleName.CUSTOMER,
        "hollybankcare.example.com",
        ("commercial", "maintenance contract", "VIP"),
        ("Home manager", "Maintenance lead"),
        "Holly Bank, Moorside Road",
        "Stockport",
        "SK4 4DT",
        notes="Residents are vulnerable: heating failures are always same-day priority.",
    ),
    OrgSpec(
        "Greenway Day Nursery",
        RoleName.CUSTOMER,
        "greenwaynursery.example.com",
        ("commercial",),
        ("Nursery manager",),
        "18 Larch Close",
        "Sale",
        "M33 5QX",
    ),
    OrgSpec(
        "St Chad's Community Hall",
        RoleName.CUSTOMER,
        "stchadshall.example.org",
        ("commercial",),
        ("Bookings secretary",),
        "St Chad's Walk",
        "Manchester",
        "M21 9TJ",
    ),
    OrgSpec(
        "Marlowe Court Residents' Association",
        RoleName.CUSTOMER,
        "marlowecourt.example.org",
        ("commercial",),
        ("Chair",),
        "Marlowe Court, Fairfax Avenue",
        "Manchester",
        "M20 6AB",
    ),
    OrgSpec(
        "The Fox & Hounds",
        RoleName.CUSTOMER,
        "foxandhoundsurmston.example.com",
        ("commercial",),
        ("Licensee",),
        "96 Church Road",
        "Urmston",
        "M41 9EH",
    ),
    OrgSpec(
        "Northgate Lettings",
        RoleName.CUSTOMER,
        "northgatelettings.example.com",
        ("letting agent", "gas safety"),
        ("Property manager", "Lettings negotiator"),
        "7 Barlow Moor Road",
        "Manchester",
        "M20 6TR",
        kind="agent",
    ),
    OrgSpec(
        "Castlefield Property Management",
        RoleName.CUSTOMER,
        "castlefieldpm.example.com",
        ("letting agent", "gas safety", "VIP"),
        ("Maintenance coordinator",),
        "Unit 4, Potato Wharf",
        "Manchester",
        "M3 4BD",
        kind="agent",
    ),
    OrgSpec(
        "Parkside Residential",
        RoleName.CUSTOMER,
        "parksideresidential.example.com",
        ("letting agent", "gas safety"),
        ("Branch manager", "Property manager"),
        "22 Heaton Moor Road",
        "Stockport",
        "SK4 4NX",
        kind="agent",
    ),
    OrgSpec(
        "Hollins & Webb Estate Agents",
        RoleName.CUSTOMER,
        "hollinswebb.example.com",
        ("letting agent",),
        ("Lettings manager",),
        "5 Stamford New Road",
        "Altrincham",
        "WA14 1BW",
        kind="agent",
    ),
    OrgSpec(
        "Pennine Plumbing Supplies Ltd",
        RoleName.SUPPLIER,
        "penninesupplies.example.com",
        ("merchant", "trade account"),
        line1="Unit 12, Trafford Park Road",
        city="Manchester",
        postcode="M17 1HG",
        kind="supplier",
        notes="Trade account HPH-0042, 30 days. Collection counter opens 7am.",
    ),
    OrgSpec(
        "Irwell Heating Merchants",
        RoleName.SUPPLIER,
        "irwellheating.example.com",
        ("merchant", "trade account"),
        line1="Riverside Works, Adelphi Street",
        city="Salford",
        postcode="M3 6EN",
        kind="supplier",
    ),
    OrgSpec(
        "Calder Boilers Ltd",
        RoleName.SUPPLIER,
        "calderboilers.example.com",
        ("manufacturer", "boiler"),
        line1="Calder Works, Kirkstall Road",
        city="Leeds",
        postcode="LS4 2AZ",
        phone_format=ELSEWHERE[0],
        kind="supplier",
        notes="We are an approved installer: 10-year warranty on boilers we register within 30 days.",
    ),
    OrgSpec(
        "Mersey Valves & Fittings",
        RoleName.SUPPLIER,
        "merseyvalves.example.com",
        ("merchant",),
        line1="8 Brunswick Dock Road",
        city="Liverpool",
        postcode="L3 4BN",
        phone_format=ELSEWHERE[1],
        kind="supplier",
    ),
    OrgSpec(
        "Northern Radiator Company",
        RoleName.SUPPLIER,
        "northernradiators.example.com",
        ("manufacturer",),
        line1="Tyburn Trading Estate",
        city="Birmingham",
        postcode="B24 8HZ",
        phone_format=ELSEWHERE[2],
        kind="supplier",
    ),
    OrgSpec(
        "ProHire Tool & Plant Hire",
        RoleName.SUPPLIER,
        "prohire.example.com",
        ("tool hire",),
        line1="Ellesmere Street",
        city="Manchester",
        postcode="M15 4JY",
        kind="supplier",
    ),
    OrgSpec(
        "Greenheat Renewables Ltd",
        RoleName.PARTNER,
        "greenheat.example.com",
        ("heat pump",),
        line1="The Sustainability Hub, 30 Oxford Road",
        city="Manchester",
        postcode="M1 5QA",
        kind="partner",
        notes="MCS-certified heat pump installers. We do their radiator upgrades; they send us boiler work.",
    ),
)
PARTNER_PERSON = ("Dale", "Roberts", "Roberts Electrical", ("electrician",))

# Names read better as one line of prose than as a hundred one-item lines.
GIVEN = (  # noqa: SIM905
    "Amelia Olivia Isla Emily Sophie Charlotte Grace Hannah Lucy Chloe Megan Rachel Joanne Karen Claire "
    "Helen Siobhan Aisha Fatima Zoë Siân Agnieszka Niamh Bethany Gemma Lauren Janet Maureen Pauline Deborah "
    "Oliver Harry George Jack Noah James William Thomas Daniel Mohammed Imran Rajesh Liam Connor Callum "
    "Ryan Gareth Rhys Stuart Graham Kevin Neil Darren Paul Ian Ciarán Tomasz Kofi Dev Alan"
).split()
FAMILY = (  # noqa: SIM905
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans Walker White "
    "Roberts Green Hall Wood Jackson Clarke Patel Khan Hussain Ahmed Singh Kaur O'Brien Murphy Kelly "
    "McDonald Campbell Hughes Edwards Lewis Harrison Lloyd Fletcher Marsh Nowak Kowalski Okafor Barker "
    "Ashworth Whittaker Butterworth Greenhalgh Ramsbottom Chadwick Lomax Brierley"
).split()
# (locality, post town, postcode district) around south and central Manchester.
AREAS = (
    ("Didsbury", "Manchester", "M20"),
    ("Withington", "Manchester", "M20"),
    ("Chorlton", "Manchester", "M21"),
    ("Levenshulme", "Manchester", "M19"),
    ("Stretford", "Manchester", "M32"),
    ("Prestwich", "Manchester", "M25"),
    ("Urmston", "Manchester", "M41"),
    ("Sale", "Sale", "M33"),
    ("Heaton Moor", "Stockport", "SK4"),
    ("Bramhall", "Stockport", "SK7"),
    ("Altrincham", "Altrincham", "WA14"),
    ("Eccles", "Salford", "M30"),
)
STREETS = (
    "Beech Avenue",
    "Mill Lane",
    "Church Road",
    "Oak Bank",
    "Lime Grove",
    "Fairfax Avenue",
    "Hawthorn Road",
    "Kingsway Gardens",
    "Larkspur Close",
    "Moorside Road",
    "Nursery Lane",
    "Orchard Street",
    "Peel Terrace",
    "Rowan Drive",
    "Sandown Crescent",
    "Thorncliffe Grove",
    "Willow Bank",
    "Yew Tree Lane",
    "Ash Grove",
    "Brook Street",
    "Clarendon Road",
    "Elmfield Avenue",
    "Grosvenor Terrace",
    "Heathfield Drive",
)
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters Royal Mail uses in the inward code
BOILERS = (
    "Calder Comfort 30i combi",
    "Calder Comfort 24i combi",
    "Calder System 18 boiler",
    "Calder Heat 15 regular boiler",
)
SLOTS = ("8–10am", "10am–12pm", "12–2pm", "2–4pm")
CUSTOMER_NOTES = (
    "Key safe by the back door; the code is on the job sheet, not here.",
    "Dog in the garden — friendly but jumps up. Ring before going round the back.",
    "Works nights: please don't ring before midday.",
    "Stop tap is under the stairs behind the hoover, not under the sink.",
    "Recommended by a neighbour we fitted a boiler for.",
    "Prefers email to phone calls.",
    "Hard of hearing: speak up on the phone, or better, email.",
)


# --- what happens: stories of activities ------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    kind: str
    who: str  # office, engineer or manager: which member of staff logs it
    gap: tuple[int, int]  # days after the previous step (min, max)
    subject: str
    body: str


@dataclass(frozen=True)
class Story:
    steps: tuple[Step, ...]
    tags: tuple[str, ...] = ()
    price: tuple[int, int] = (0, 0)
    visit: int | None = None  # the step that is the site visit; its date is {visit} in the text
    ref: str = "INV"  # what {ref} numbers: an invoice, a quotation (Q) or a purchase order (PO)


NOTE, CALL, MEETING = ActivityKind.NOTE, ActivityKind.CALL, ActivityKind.MEETING
EMAIL_IN, EMAIL_OUT = ActivityKind.EMAIL_IN, ActivityKind.EMAIL_OUT
SIGN_OFF = "{office}\n" + BUSINESS + "\n" + OFFICE_NUMBER

PEOPLE_STORIES: dict[str, Story] = {
    "annual_service": Story(
        tags=("boiler", "annual service"),
        price=(85, 110),
        visit=2,
        steps=(
            Step(
                EMAIL_OUT,
                "office",
                (0, 0),
                "Your annual boiler service is due",
                "Hi {first},\n\nIt's nearly a year since we serviced your {boiler}, so it's due again. "
                "Reply to this email or ring the office and we'll find a slot that suits you.\n\n" + SIGN_OFF,
            ),
            Step(
                CALL,
                "office",
                (2, 9),
                "Annual service booked for {visit}",
                "{first} rang back. Booked {staff} for {visit}, {slot}. Park on the drive; side gate is unlocked.",
            ),
            Step(
                NOTE,
                "engineer",
                (4, 18),
                "Annual service done",
                "Serviced the {boiler}. Combustion analysis within limits, condensate trap cleaned, system "
                "pressure topped up to 1.3 bar, magnetic filter emptied (light sludge). Advised {first} to "
                "bleed the upstairs radiators in the autumn. Next service due in 12 months.",
            ),
            Step(
                EMAIL_OUT,
                "office",
                (0, 2),
                "Service record and invoice {ref}",
                "Hi {first},\n\nThanks for having us. Your service record is attached, with invoice {ref} "
                "for £{price}.00, payable within 14 days.\n\n" + SIGN_OFF,
            ),
        ),
    ),
    "breakdown": Story(
        tags=("boiler", "emergency call-out"),
        price=(95, 240),
        visit=1,
        steps=(
            Step(
                CALL,
                "office",
                (0, 0),
                "No heating or hot water",
                "{first} rang: the {boiler} has locked out with an ignition fault. Talked them through a "
                "reset — no luck. {staff} can get there this afternoon.",
            ),
            Step(
                MEETING,
                "engineer",
                (0, 1),
                "Emergency call-out",
                "On site. Gas pressure fine at the meter. Ignition electrode worn and sooted: replaced it and "
                "the gasket, cleaned the burner. Heating and hot water back on, tested under load.",
            ),
            Step(
                EMAIL_OUT,
                "office",
                (1, 3),
                "Invoice {ref} for the call-out",
                "Hi {first},\n\nSorry again that you were left without heating. Invoice {ref} for £{price}.00 "
                "(call-out, parts and an hour's labour) is attached.\n\n" + SIGN_OFF,
            ),
            Step(
                EMAIL_IN,
                "office",
                (1, 10),
                "Re: Invoice {ref} for the call-out",
                "Paid by bank transfer this morning. Please thank {staff} for us — quick, polite and left "
                "everything spotless.\n\n{first}",
            ),
        ),
    ),
    "new_boiler": Story(
        tags=("boiler",),
        ref="Q",
        price=(2650, 4200),
        visit=4,
        steps=(
            Step(
                EMAIL_IN,
                "office",
                (0, 0),
                "Quote for a new boiler?",
                "Hello,\n\nOur boiler is about 18 years old and the last engineer said it's on borrowed time. "
                "Could you quote for a replacement combi? 3-bed semi, one bathroom, nine radiators.\n\n"
                "Thanks, {first}",
            ),
            Step(
                MEETING,
                "engineer",
                (2, 8),
                "Survey for a boiler replacement",
                "Surveyed with {first}. Open-vented system, cylinder in the airing cupboard and tanks in the "
                "loft. Recommend a {boiler} with a magnetic filter, system cleanse and smart thermostat; "
                "cylinder and tanks to come out. Flue can go straight out through the side wall.",
            ),
            Step(
                EMAIL_OUT,
                "engineer",
                (1, 4),
                "Your quotation {ref}",
                "Hi {first},\n\nAs promised, here is quotation {ref} for the {boiler}: £{price}.00 including "
                "VAT, with removal of the old cylinder and tanks, a full system cleanse and a 10-year "
                "manufacturer's warranty once we register it.\n\nAny questions, just ask.\n{staff}",
            ),
            Step(
                CALL,
                "office",
                (3, 14),
                "Quotation {ref} accepted",
                "{first} rang to go ahead. 25% deposit requested; installation booked for {visit} (two days).",
            ),
            Step(
                NOTE,
                "engineer",
                (7, 30),
                "New boiler installed",
                "Installed the {boiler}. Old cylinder and tanks removed, system cleansed and inhibitor added, "
                "filter fitted. Benchmark checklist completed and the boiler registered for its warranty. "
                "Showed {first} how to use the thermostat app.",
            ),
        ),
    ),
    "leak": Story(
        price=(75, 160),
        visit=1,
        steps=(
            Step(
                CALL,
                "office",
                (0, 0),
                "Leak under the kitchen sink",
                "{first} reports a steady drip from a joint under the kitchen sink; bucket under it for now. "
                "Showed them where the stop tap is. Booked {staff} for {visit}, {slot}.",
            ),
            Step(
                MEETING,
                "engineer",
                (0, 3),
                "Leak repaired",
                "Replaced the corroded compression fitting and the isolation valve on the cold feed. Checked "
                "the pipework under the sink and behind the washing machine: all dry.",
            ),
            Step(
                EMAIL_OUT,
                "office",
                (0, 2),
                "Invoice {ref}",
                "Hi {first},\n\nInvoice {ref} for £{price}.00 for the leak repair is attached. "
                "Thanks for choosing us.\n\n" + SIGN_OFF,
            ),
        ),
    ),
    "powerflush": Story(
        tags=("boiler",),
        ref="Q",
        price=(450, 650),
        visit=3,
        steps=(
            Step(
                EMAIL_IN,
                "office",
                (0, 0),
                "Radiators cold at the bottom",
                "Hi,\n\nMost of our radiators are hot at the top but stone cold at the bottom, and the boiler "
                "has got noisy. Is that something you can fix?\n\n{first}",
            ),
            Step(
                MEETING,
                "engineer",
                (2, 7),
                "Heating system inspection",
                "Heavy sludge: filter full, water black when bled. Radiators cold at the bottom in 7 of 10 "
                "rooms. Recommend a powerflush and a magnetic filter; the boiler itself is in good order.",
            ),
            Step(
                EMAIL_OUT,
                "engineer",
                (1, 3),
                "Powerflush quotation {ref}",
                "Hi {first},\n\nQuotation {ref}: powerflush of the whole system, a new magnetic filter and "
                "inhibitor, £{price}.00 including VAT. It takes a day and you'll notice the difference "
                "straight away.\n\n{staff}",
            ),
            Step(
                NOTE,
                "engineer",
                (5, 25),
                "Powerflush done",
                "Flushed every radiator until the water ran clear, fitted the filter, dosed inhibitor. All "
                "radiators now heat evenly and the boiler is much quieter.",
            ),
        ),
    ),
    "thermostat": Story(
        tags=("smart thermostat",),
        price=(180, 260),
        visit=2,
        steps=(
            Step(
                CALL,
                "office",
                (0, 0),
                "Asked about smart thermostats",
                "{first} wants to control the heating from their phone. Explained the options; sending details.",
            ),
            Step(
                EMAIL_OUT,
                "office",
                (0, 1),
                "Smart thermostat options",
                "Hi {first},\n\nAs discussed: we fit two systems, and both work with your {boiler}. Supplied "
                "and fitted, £{price}.00 including VAT, about two hours. Let me know which you prefer and "
                "we'll book {staff} in.\n\n" + SIGN_OFF,
            ),
            Step(
                NOTE,
                "engineer",
                (5, 20),
                "Smart thermostat fitted",
                "Fitted the thermostat and receiver, set up the app on {first}'s phone with a weekday and "
                "weekend schedule, and turned on load compensation.",
            ),
        ),
    ),
    "bathroom": Story(
        tags=("bathroom",),
        ref="Q",
        price=(6500, 11500),
        visit=1,
        steps=(
            Step(
                EMAIL_IN,
                "office",
                (0, 0),
                "Bathroom refit",
                "Hello,\n\nWe'd like to replace our bathroom suite and turn the bath into a walk-in shower. "
                "Do you do whole bathrooms, and could someone come and have a look?\n\n{first}",
            ),
            Step(
                MEETING,
                "engineer",
                (3, 10),
                "Bathroom survey",
                "Measured up with {first}. Wants a walk-in shower with a thermostatic bar mixer, a wall-hung "
                "basin and a heated towel rail. Joists sound; needs a new waste run to the stack.",
            ),
            Step(
                EMAIL_OUT,
                "manager",
                (2, 7),
                "Bathroom quotation {ref}",
                "Dear {first},\n\nThank you for showing {staff} round. Quotation {ref} for the bathroom as "
                "discussed comes to £{price}.00 including VAT, tiling included. We are booking bathrooms "
                "about six weeks ahead.\n\nKind regards,\n{manager}",
            ),
            Step(
                CALL,
                "office",
                (7, 21),
                "Bathroom: waiting until spring",
                "{first} called: they'd like to go ahead, but not until the spring. Get back in touch in "
                "February.",
            ),
        ),
    ),
    "heat_pump": Story(
        tags=("heat pump",),
        visit=2,
        steps=(
            Step(
                EMAIL_IN,
                "office",
                (0, 0),
                "Is a heat pump worth it for us?",
                "Hi,\n\nWe're thinking of replacing our gas boiler with a heat pump and have heard there's a "
                "grant. Is our house suitable? 1930s semi, cavity walls filled, loft insulated.\n\n{first}",
            ),
            Step(
                CALL,
                "manager",
                (1, 5),
                "Heat pump advice",
                "Long chat with {first}. The house sounds suitable and the Boiler Upgrade Scheme grant "
                "applies. Booked a heat-loss survey with our partners Greenheat Renewables for {visit}.",
            ),
            Step(
                MEETING,
                "engineer",
                (5, 20),
                "Heat-loss survey with Greenheat",
                "Joint visit with Greenheat Renewables. Heat loss about 6.5 kW; three radiators need "
                "upsizing and the cylinder replacing. Greenheat will quote and apply for the grant.",
            ),
            Step(
                NOTE,
                "office",
                (10, 30),
                "Waiting for the grant voucher",
                "Greenheat confirm the grant application is in. {first} will ring when the voucher arrives; "
                "we do the radiator work beforehand.",
            ),
        ),
    ),
    "complaint": Story(
        steps=(
            Step(
                EMAIL_IN,
                "office",
                (0, 0),
                "Muddy footprints on the hall carpet",
                "Hello,\n\nYour engineer did a good job on the boiler but left muddy footprints on our hall "
                "carpet and didn't put dust sheets down upstairs. I'm disappointed, as you came "
                "recommended.\n\n{first}",
            ),
            Step(
                CALL,
                "manager",
                (0, 2),
                "Apology call",
                "Rang {first} to apologise. Offered to pay for the carpet to be cleaned professionally and "
                "20% off next year's service. Accepted, and thanked us for calling straight back.",
            ),
            Step(
                NOTE,
                "manager",
                (0, 1),
                "Overshoes and dust sheets",
                "Spoke to {staff}: overshoes and dust sheets on every visit, no exceptions. Raised it at "
                "Monday's team meeting too.",
            ),
        ),
    ),
    "late_payment": Story(
        price=(120, 480),
        steps=(
            Step(
                EMAIL_OUT,
                "office",
                (0, 0),
                "Reminder: invoice {ref} is overdue",
                "Hi {first},\n\nA gentle reminder that invoice {ref} for £{price}.00 was due last week. If "
                "you've already paid, please ignore this.\n\n" + SIGN_OFF,
            ),
            Step(
                EMAIL_IN,
                "office",
                (1, 6),
                "Re: Reminder: invoice {ref} is overdue",
                "So sorry — it went into my junk folder. Paid just now.\n\n{first}",
            ),
        ),
    ),
    "taps": Story(
        price=(60, 140),
        visit=1,
        steps=(
            Step(
                EMAIL_IN,
                "office",
                (0, 0),
                "Dripping bath tap",
                "Hello, our hot bath tap has dripped for weeks and now won't turn off fully. Could someone "
                "replace the washer, or the taps if need be?\n\n{first}",
            ),
            Step(
                MEETING,
                "engineer",
                (2, 10),
                "Bath taps replaced",
                "Seats too worn to re-cut; replaced both bath taps with ceramic-disc ones. Checked the "
                "shower mixer while there: fine.",
            ),
            Step(
                EMAIL_OUT,
                "office",
                (0, 2),
                "Invoice {ref}",
                "Hi {first},\n\nInvoice {ref} for £{price}.00 for the new bath taps is attached. Thank you!\n\n"
                + SIGN_OFF,
            ),
        ),
    ),
}
LANDLORD_STORY = Story(
    tags=("landlord", "gas safety"),
    price=(65, 90),
    visit=3,
    steps=(
        Step(
            EMAIL_OUT,
            "office",
            (0, 0),
            "Gas safety record due at {rental}",
            "Hi {first},\n\nThe landlord gas safety record for {rental} runs out next month. Shall we arrange "
            "access with your tenants directly, as last year?\n\n" + SIGN_OFF,
        ),
        Step(
            EMAIL_IN,
            "office",
            (0, 4),
            "Re: Gas safety record due at {rental}",
            "Yes please. The tenants say the shower has lost pressure too — could the engineer look at it "
            "while they're there?\n\n{first}",
        ),
        Step(
            CALL,
            "office",
            (1, 5),
            "Access arranged at {rental}",
            "Spoke to the tenants at {rental}: access {visit}, {slot}. They'll leave a key with the "
            "neighbour if they're out.",
        ),
        Step(
            NOTE,
            "engineer",
            (3, 14),
            "Gas safety check at {rental}",
            "Boiler, hob and gas fire all pass; CO alarm tested. Shower: descaled the head and cleaned the "
            "strainers in the mixer, pressure back to normal. Gas safety record issued.",
        ),
        Step(
            EMAIL_OUT,
            "office",
            (0, 1),
            "Gas safety record for {rental}",
            "Hi {first},\n\nThe gas safety record for {rental} is attached (valid for 12 months), with "
            "invoice {ref} for £{price}.00.\n\n" + SIGN_OFF,
        ),
    ),
)
ONE_OFFS = (
    Step(NOTE, "office", (0, 0), "Access", "Key safe by the back door; the code is on the job sheet."),
    Step(NOTE, "engineer", (0, 0), "Stop tap", "Stop tap is under the stairs, not under the sink."),
    Step(
        EMAIL_IN,
        "office",
        (0, 0),
        "Thank you!",
        "Just a quick note to say thanks — the house is lovely and warm again.\n\n{first}",
    ),
    Step(CALL, "office", (0, 0), "Asked about payment options", "Explained we take cards on site and BACS."),
    Step(
        CALL,
        "office",
        (0, 0),
        "Rescheduled visit",
        "{first} can't make the booked slot (hospital appointment); moved to the following week.",
    ),
    Step(
        EMAIL_IN,
        "office",
        (0, 0),
        "Recommendation",
        "We've recommended you to our neighbours at number 14 — they'll be in touch about their boiler.\n\n"
        "{first}",
    ),
)
ORG_STORIES: dict[str, Story] = {
    "commercial": Story(
        tags=(),
        price=(450, 1800),
        visit=2,
        steps=(
            Step(
                EMAIL_OUT,
                "manager",
                (0, 0),
                "Maintenance contract renewal",
                "Dear {first},\n\nYour maintenance contract with us renews next month. The price for the year "
                "is £{price}.00 plus VAT, unchanged, covering two planned visits and priority call-outs.\n\n"
                "Kind regards,\n{manager}",
            ),
            Step(
                EMAIL_IN,
                "manager",
                (2, 12),
                "Re: Maintenance contract renewal",
                "Thanks Sarah, happy to renew on the same terms. Could the spring visit avoid Monday "
                "mornings? That's our busiest time.\n\n{first}",
            ),
            Step(
                MEETING,
                "engineer",
                (10, 60),
                "Planned maintenance visit",
                "Serviced the boilers and checked the pressurisation unit; tested the TMVs on every basin "
                "(all 41–43°C). Replaced a sticking TRV in the back office.",
            ),
            Step(
                NOTE,
                "engineer",
                (60, 120),
                "Planned maintenance visit",
                "Second visit of the contract year: water heater descaled, expansion vessel recharged, "
                "legionella temperature checks logged. No faults.",
            ),
        ),
    ),
    "agent": Story(
        steps=(
            Step(
                MEETING,
                "manager",
                (0, 0),
                "Quarterly review with {org}",
                "Met {first} at their office. About 30 of their managed properties are with us; gas safety "
                "records all in date. They want a faster turnaround on void-property checks.",
            ),
            Step(
                EMAIL_IN,
                "office",
                (3, 20),
                "Gas safety checks for next month",
                "Hi,\n\nPlease book gas safety checks for the attached list of properties due next month; "
                "the tenants' numbers are on the sheet.\n\n{first}\n{org}",
            ),
            Step(
                EMAIL_OUT,
                "office",
                (1, 3),
                "Re: Gas safety checks for next month",
                "Hi {first},\n\nAll booked in over the next three weeks; we'll send each certificate as it's "
                "done.\n\n" + SIGN_OFF,
            ),
            Step(
                CALL,
                "office",
                (5, 30),
                "Void flat: drain-down",
                "{first} asked us to drain down the heating at a void flat before the frosts. {staff} did it "
                "the same week.",
            ),
            Step(
                MEETING,
                "manager",
                (60, 100),
                "Quarterly review with {org}",
                "Turnaround on voids now under five working days. Agreed a price list for tenant call-outs.",
            ),
        ),
    ),
    "supplier": Story(
        ref="PO",
        steps=(
            Step(
                EMAIL_IN,
                "office",
                (0, 0),
                "Trade price list",
                "Please find our updated trade price list attached, effective from the first of next month. "
                "Copper fittings up about 4%, boilers unchanged.\n\n{first}\n{org}",
            ),
            Step(
                EMAIL_OUT,
                "office",
                (5, 40),
                "Order {ref}",
                "Please deliver to the yard on Thursday: 2 × {boiler}, 4 magnetic filters, 10 m of 22 mm "
                "copper and 20 × 15 mm elbows. Account HPH-0042.\n\n" + SIGN_OFF,
            ),
            Step(
                CALL,
                "office",
                (0, 3),
                "Order {ref} delayed",
                "{org} rang: flue kits are on back order until next week. Agreed to deliver the rest now.",
            ),
            Step(
                MEETING,
                "manager",
                (20, 80),
                "Account review with {org}",
                "Met our rep, {first}. Agreed an extra 2% on volume over 40 units a year; payment terms stay "
                "at 30 days.",
            ),
        ),
    ),
    "partner": Story(
        steps=(
            Step(
                CALL,
                "manager",
                (0, 0),
                "Referral from {org}",
                "{first} referred a customer who needs radiators upgraded before a heat pump goes in.",
            ),
            Step(
                MEETING,
                "manager",
                (20, 60),
                "Partnership catch-up with {org}",
                "Reviewed the jobs we referred to each other this quarter; agreed a shared checklist for "
                "heat-pump-ready radiator upgrades.",
            ),
            Step(
                EMAIL_IN,
                "office",
                (10, 60),
                "Joint job next week",
                "Hi,\n\nCan your engineer meet ours on site on Tuesday for the radiator swap before the "
                "install?\n\n{first}\n{org}",
            ),
        ),
    ),
}
STAFF_STORY = Story(
    steps=(
        Step(NOTE, "manager", (0, 0), "Holiday booked", "Two weeks in August approved; cover arranged."),
        Step(
            NOTE,
            "manager",
            (60, 150),
            "Annual review",
            "Annual review done. Training on heat pumps booked for the spring; van due for replacement.",
        ),
    )
)


# --- the loader -------------------------------------------------------------------------------------------


@dataclass
class Crew:
    admin: User
    manager: User
    office: User
    engineers: list[User]
    users: list[User]
    teams: dict[str, Team]
    user_team: dict[int, Team | None]


@dataclass
class Contact:
    """A place for a customer who works at one of the organisations."""

    org: Party
    spec: OrgSpec
    job_title: str


class _ConsoleFile(io.TextIOBase):
    """Lets rich write through the command's stdout unchanged, so call_command(stdout=…) captures it."""

    def __init__(self, wrapper: Any) -> None:
        self._wrapper = wrapper

    def write(self, text: str) -> int:
        self._wrapper.write(text, ending="")
        return len(text)

    def flush(self) -> None:
        self._wrapper.flush()

    def isatty(self) -> bool:
        return bool(self._wrapper.isatty())


def _ascii(value: str) -> str:
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())


class Loader:
    """Builds the demo through the services, drawing every choice from one seeded generator."""

    def __init__(self, seed: int, progress: Progress) -> None:
        self.rng = random.Random(seed)
        self.progress = progress
        self.now = clock.now()
        self.tz = clock.business_tz()
        self.today = clock.today()
        self.day_one = self.today - dt.timedelta(days=HISTORY_DAYS)
        self.ref = 2400
        numbers = list(range(1, 1000))
        self.rng.shuffle(numbers)
        self.pools = {fmt: [fmt.format(n) for n in numbers] for fmt in (MANCHESTER, *ELSEWHERE)}
        self.emails: set[str] = set()
        self.parties: list[Party] = []
        self.landlords: list[Party] = []
        self.customer_orgs: list[tuple[Party, OrgSpec, str]] = []  # with the first contact's given name
        self.admin_password: str | None = None
        self.staff_password = ""
        self.activities = 0
        self.handovers = 0

    # -- small generators

    def phone(self, fmt: str = MANCHESTER) -> str:
        return self.pools[fmt].pop()

    def email(self, local: str, domain: str) -> str:
        address, n = f"{local}@{domain}", 1
        while address in self.emails:
            n += 1
            address = f"{local}{n}@{domain}"
        self.emails.add(address)
        return address

    def address(self, label: str) -> services.AddressIn:
        locality, town, district = self.rng.choice(AREAS)
        letters = "".join(self.rng.choices(POSTCODE_LETTERS, k=2))
        return services.AddressIn(
            line1=f"{self.rng.randint(1, 180)} {self.rng.choice(STREETS)}",
            line2=locality if locality != town else "",
            city=town,
            region="Greater Manchester",
            postcode=f"{district} {self.rng.randint(1, 9)}{letters}",
            country="GB",
            label=label,
        )

    def birthday(self) -> dt.date:
        return dt.date(self.rng.randint(1942, 2001), 1, 1) + dt.timedelta(days=self.rng.randrange(365))

    def long_ago(self) -> dt.date:
        """A 'customer since' date from before the business used Friday."""
        first = dt.date(2011, 3, 1)
        return first + dt.timedelta(days=self.rng.randrange((self.day_one - first).days))

    def at(self, day: dt.date, kind: str) -> dt.datetime:
        """A plausible time of day: the office works weekdays 8–6; customers email at all hours."""
        if kind != EMAIL_IN and day.weekday() >= 5:
            day += dt.timedelta(days=7 - day.weekday())
        hours: dict[str, tuple[int, int]] = {EMAIL_IN: (7, 21), MEETING: (8, 15)}
        start, end = hours.get(kind, (8, 17))
        moment = dt.time(self.rng.randint(start, end), self.rng.randrange(0, 60, 5))
        return dt.datetime.combine(day, moment, tzinfo=self.tz)

    def day_one_moment(self) -> dt.datetime:
        """When a record that existed before Friday was typed in: during the first week of use."""
        return self.at(self.day_one + dt.timedelta(days=self.rng.randint(0, 5)), NOTE)

    # -- staff

    def staff(self) -> Crew:
        task = self.progress.add_task("Staff and teams", total=len(STAFF) + len(TEAMS))
        admin = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
        if admin is None:
            admin, self.admin_password = account_services.admin_create_from_cli(username=ADMIN_USERNAME)
        teams: dict[str, Team] = {}
        for name, description in TEAMS.items():
            existing = Team.objects.filter(name__iexact=name).first()
            teams[name] = existing or account_services.team_create(
                by=admin, name=name, description=description
            )
            self.progress.advance(task)
        self.staff_password = secrets.token_urlsafe(12)
        users: list[User] = []
        user_team: dict[int, Team | None] = {}
        for spec in STAFF:
            team = teams[spec.team] if spec.team else None
            user = account_services.user_create(
                by=admin,
                username=spec.username,
                password=self.staff_password,
                role=spec.role,
                scope=spec.scope,
                email=f"{spec.first.lower()}@{STAFF_DOMAIN}",
                first_name=spec.first,
                last_name=spec.last,
                teams=[team] if team else [],
            )
            users.append(user)
            user_team[user.pk] = team
            self.progress.advance(task)
        manager, office, tom, kwame, _bookkeeper = users
        return Crew(admin, manager, office, [tom, kwame], users, teams, user_team)

    # -- parties

    def create(self, crew: Crew, data: services.PartyIn, created: dt.datetime) -> Party:
        owner = data.owner or crew.manager
        data.team = data.team or crew.user_team.get(owner.pk) or crew.teams["Office"]
        # Members file records in their own team; anything else is typed in by the manager (who sees all).
        by = owner if crew.user_team.get(owner.pk) == data.team and owner.can_write else crew.manager
        party = services.party_create(by=by, data=data, allow_duplicates=True)
        # Demo data only: backdate the record and its "created" entry so nine months of history read true.
        # Real records are never rewritten like this; every other write here goes through the services.
        Party.objects.filter(pk=party.pk).update(created_at=created, updated_at=created)
        Activity.objects.filter(party=party, event="party.created").update(
            occurred_at=created, created_at=created
        )
        party.created_at = party.updated_at = created
        self.parties.append(party)
        return party

    def employees(self, crew: Crew) -> None:
        task = self.progress.add_task("Staff records", total=len(STAFF))
        for spec, user in zip(STAFF, crew.users, strict=True):
            party = self.create(
                crew,
                services.PartyIn(
                    kind=PartyKind.PERSON,
                    given_name=spec.first,
                    family_name=spec.last,
                    emails=[user.email],
                    phones=[self.phone()],
                    addresses=[self.address("Home")],
                    roles=[RoleName.EMPLOYEE],
                    birthday=spec.birthday,
                    owner=crew.manager,
                    team=crew.user_team[user.pk],
                    notes=f"{spec.job_title}. Signs in to Friday as {spec.username}.",
                ),
                self.day_one_moment(),
            )
            self.history(crew, party, STAFF_STORY, {"first": spec.first})
            self.progress.advance(task)

    def organisations(self, crew: Crew) -> list[Contact]:
        """Create the organisations and the partner electrician; returns the places for customer contacts."""
        task = self.progress.add_task("Organisations", total=len(ORGANISATIONS) + 1)
        contacts: list[Contact] = []
        for spec in ORGANISATIONS:
            trade = spec.kind in {"supplier", "partner"}
            owner = (
                crew.manager
                if trade or "VIP" in spec.tags
                else self.rng.choice([crew.office, *crew.engineers])
            )
            party = self.create(
                crew,
                services.PartyIn(
                    kind=PartyKind.ORGANISATION,
                    name=spec.name,
                    emails=[self.email("trade" if spec.kind == "supplier" else "info", spec.domain)],
                    phones=[self.phone(spec.phone_format)],
                    addresses=[
                        services.AddressIn(
                            line1=spec.line1,
                            city=spec.city,
                            postcode=spec.postcode,
                            country="GB",
                            label="Trade counter" if spec.kind == "supplier" else "Office",
                        )
                    ],
                    roles=[spec.role],
                    tags=list(spec.tags),
                    customer_since=self.long_ago() if spec.role == RoleName.CUSTOMER else None,
                    owner=owner,
                    email_consent=True,
                    notes=spec.notes,
                ),
                self.day_one_moment(),
            )
            contacts += [Contact(party, spec, title) for title in spec.contacts]
            if trade:  # their rep is not in Friday as a person: just a name in the history
                rep = self.rng.choice(GIVEN)
                self.history(crew, party, ORG_STORIES[spec.kind], {"first": rep, "org": spec.name})
            self.progress.advance(task)
        first, family, trading_as, tags = PARTNER_PERSON
        dale = self.create(
            crew,
            services.PartyIn(
                kind=PartyKind.PERSON,
                given_name=first,
                family_name=family,
                emails=[self.email("dale", "robertselectrical.example.com")],
                phones=[self.phone()],
                roles=[RoleName.PARTNER],
                tags=list(tags),
                owner=crew.manager,
                notes=f"Trades as {trading_as}. Our electrician for boiler wiring and new circuits.",
            ),
            self.day_one_moment(),
        )
        self.history(crew, dale, ORG_STORIES["partner"], {"first": first, "org": trading_as})
        self.progress.advance(task)
        return contacts

    def customers(self, crew: Crew, contacts: list[Contact]) -> None:
        task = self.progress.add_task("Customers and their history", total=CUSTOMER_PEOPLE)
        names = self.rng.sample([(g, f) for g in GIVEN for f in FAMILY], CUSTOMER_PEOPLE)
        leap_day_person = self.rng.randrange(len(contacts), CUSTOMER_PEOPLE)
        for i, (given, family) in enumerate(names):
            contact = contacts[i] if i < len(contacts) else None
            landlord = len(contacts) <= i < len(contacts) + LANDLORDS
            if i >= CUSTOMER_PEOPLE - NEW_CUSTOMERS:  # won since the business started using Friday
                offset = dt.timedelta(days=self.rng.randint(7, HISTORY_DAYS - 3))
                created = self.at(self.day_one + offset, EMAIL_IN)
                since = created.astimezone(self.tz).date()
            else:
                created, since = self.day_one_moment(), self.long_ago()
            stories = self.pick_stories(contact is not None, landlord)
            tags = {t for s in stories for t in s.tags}
            if self.rng.random() < 0.07:
                tags.add("VIP")
            private = self.rng.choice(
                [f"{_ascii(given)}.{_ascii(family)}", f"{_ascii(given)[0]}{_ascii(family)}"]
            )
            emails = [self.email(private, self.rng.choice(PRIVATE_DOMAINS))]
            phones = [self.phone()]
            addresses = [self.address("Home")]
            affiliations = []
            if contact is not None:
                emails.insert(0, self.email(f"{_ascii(given)}.{_ascii(family)}", contact.spec.domain))
                affiliations = [services.AffiliationIn(organisation=contact.org, job_title=contact.job_title)]
            elif self.rng.random() < 0.3:
                phones.append(self.phone(self.rng.choice(ELSEWHERE)))  # a work number
            rentals = (
                [self.address(f"Rental {n + 1}") for n in range(self.rng.randint(1, 3))] if landlord else []
            )
            birthday = dt.date(1984, 2, 29) if i == leap_day_person else None
            if birthday is None and self.rng.random() < 0.55:
                birthday = self.birthday()
            if contact is not None and contact.org.owner is not None:
                owner = contact.org.owner
            elif landlord and self.rng.random() < 0.3:
                owner = crew.office
            else:
                owner = self.rng.choice(crew.engineers)
            do_not_contact = i % 37 == 36
            party = self.create(
                crew,
                services.PartyIn(
                    kind=PartyKind.PERSON,
                    given_name=given,
                    family_name=family,
                    emails=emails,
                    phones=phones,
                    addresses=addresses + rentals,
                    roles=[RoleName.CUSTOMER],
                    tags=sorted(tags),
                    affiliations=affiliations,
                    birthday=birthday,
                    customer_since=since,
                    owner=owner,
                    email_consent=not do_not_contact and self.rng.random() < 0.6,
                    do_not_contact=do_not_contact,
                    notes=self.rng.choice(CUSTOMER_NOTES) if self.rng.random() < 0.3 else "",
                ),
                created,
            )
            if landlord:
                self.landlords.append(party)
            if contact is not None and not any(o[0].pk == contact.org.pk for o in self.customer_orgs):
                self.customer_orgs.append((contact.org, contact.spec, given))
            engineer = owner if owner in crew.engineers else self.rng.choice(crew.engineers)
            context = {"first": given, "org": contact.spec.name if contact else ""}
            for story in stories:
                for rental in rentals if story is LANDLORD_STORY else [None]:
                    place = {"rental": rental.line1} if rental else {}
                    self.history(crew, party, story, {**context, **place}, engineer=engineer)
            for step in self.rng.sample(ONE_OFFS, self.rng.randint(0, 2)):
                self.history(crew, party, Story(steps=(step,)), context, engineer=engineer)
            if do_not_contact:
                self.log(
                    crew.office,
                    party,
                    NOTE,
                    "Do not contact",
                    f"{given} has sold the house and asked us not to contact them again. Record kept for "
                    "the warranty history of the boiler we fitted.",
                    self.at(self.today - dt.timedelta(days=self.rng.randint(3, 20)), NOTE),
                )
            self.progress.advance(task)

    def organisation_histories(self, crew: Crew) -> None:
        """The customer organisations' own timelines: contracts, planned visits, agents' batches of checks."""
        task = self.progress.add_task("Organisation histories", total=len(self.customer_orgs))
        for org, spec, first in self.customer_orgs:
            context = {"first": first, "org": spec.name}
            self.history(crew, org, ORG_STORIES[spec.kind], context)
            self.history(
                crew, org, PEOPLE_STORIES[self.rng.choice(["breakdown", "leak", "late_payment"])], context
            )
            self.progress.advance(task)

    def pick_stories(self, at_org: bool, landlord: bool) -> list[Story]:
        if at_org:  # contacts at organisations: mostly the organisation's own history, plus a job of theirs
            return [PEOPLE_STORIES[self.rng.choice(["breakdown", "leak", "taps", "thermostat"])]]
        picked = [LANDLORD_STORY] if landlord else []
        if self.rng.random() < 0.55:
            picked.append(PEOPLE_STORIES["annual_service"])
        others = [s for k, s in PEOPLE_STORIES.items() if k != "annual_service"]
        picked += self.rng.sample(others, self.rng.randint(1, 2) if len(picked) < 2 else 1)
        return picked

    def history(
        self, crew: Crew, party: Party, story: Story, context: dict[str, str], engineer: User | None = None
    ) -> None:
        """Log one story on the party's timeline, starting some time after the party was created."""
        engineer = engineer or self.rng.choice(crew.engineers)
        created = party.created_at.astimezone(self.tz).date()
        typical = sum((lo + hi) // 2 for lo, hi in (s.gap for s in story.steps))
        latest_start = max(created + dt.timedelta(days=1), self.today - dt.timedelta(days=typical + 2))
        day = created + dt.timedelta(days=1 + self.rng.randrange(max(1, (latest_start - created).days)))
        moments: list[dt.datetime] = []
        for step in story.steps:
            day += dt.timedelta(days=self.rng.randint(*step.gap))
            moment = self.at(day, step.kind)
            if moments and moment <= moments[-1]:
                moment = moments[-1] + dt.timedelta(minutes=self.rng.randint(20, 180))
            day = moment.astimezone(self.tz).date()
            moments.append(moment)
        self.ref += 1
        visit = moments[story.visit] if story.visit is not None else None
        values = {
            "first": context.get("first", ""),
            "org": context.get("org", ""),
            "rental": context.get("rental", ""),
            "staff": engineer.first_name,
            "office": crew.office.first_name,
            "manager": crew.manager.get_full_name(),
            "boiler": self.rng.choice(BOILERS),
            "slot": self.rng.choice(SLOTS),
            "visit": f"{visit:%A} {visit.day} {visit:%B}" if visit else "",
            "price": f"{self.rng.randint(*story.price):,}" if story.price[1] else "",
            "ref": f"{story.ref}-{self.ref}",
        }
        authors = {"office": crew.office, "engineer": engineer, "manager": crew.manager}
        for step, moment in zip(story.steps, moments, strict=True):
            if moment >= self.now:
                break  # the rest of this story has not happened yet
            subject, body = step.subject.format_map(values), step.body.format_map(values)
            self.log(authors[step.who], party, step.kind, subject, body, moment)

    def log(self, by: User, party: Party, kind: str, subject: str, body: str, at: dt.datetime) -> None:
        services.activity_log(by=by, party=party, kind=kind, subject=subject, body=body, occurred_at=at)
        self.activities += 1

    def handovers_today(self, crew: Crew) -> None:
        """Tom starts paternity leave, so his landlords go to Kwame; two contracts up for renewal go to Sarah."""
        tom, kwame = crew.engineers
        toms_landlords = [p for p in self.landlords if p.owner_id == tom.pk][:5]
        renewals = [
            o
            for o, spec, _ in self.customer_orgs
            if spec.kind == "commercial" and o.owner_id != crew.manager.pk
        ]
        task = self.progress.add_task("Hand-overs", total=len(toms_landlords) + len(renewals[:2]))
        for party in toms_landlords:
            services.party_change_owner(
                by=crew.manager,
                party=party,
                owner=kwame,
                note="Tom is on paternity leave for two weeks from Monday; Kwame covers his landlords' "
                "gas safety checks.",
            )
            self.handovers += 1
            self.progress.advance(task)
        for party in renewals[:2]:
            services.party_change_owner(
                by=crew.office,
                party=party,
                owner=crew.manager,
                note="Contract renewal: Sarah is negotiating the new maintenance contract.",
            )
            self.handovers += 1
            self.progress.advance(task)

    def settle_updated_at(self) -> None:
        """Demo data only: a record was last touched when its latest timeline entry happened, not today."""
        latest = (
            Activity.objects.filter(party=OuterRef("pk")).order_by("-occurred_at").values("occurred_at")[:1]
        )
        Party.objects.filter(pk__in=[p.pk for p in self.parties]).update(updated_at=Subquery(latest))

    def run(self) -> Crew:
        crew = self.staff()
        self.employees(crew)
        contacts = self.organisations(crew)
        self.customers(crew, contacts)
        self.organisation_histories(crew)
        self.handovers_today(crew)
        self.settle_updated_at()
        return crew


class Command(BaseCommand):
    help = (
        f"Load a sample business ({BUSINESS}): staff, customers, organisations, suppliers and nine months "
        "of history. Runs once; a second run changes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--seed", type=int, default=1, help="Random seed: the same seed loads the same business"
        )

    def handle(self, *args, seed: int, **options) -> None:
        console = Console(file=cast(IO[str], _ConsoleFile(self.stdout)), highlight=False, soft_wrap=True)
        # A fresh FRIDAY_DATA_DIR has no tables yet: create them, as `friday run` would.
        call_command("migrate", interactive=False, verbosity=0)
        if User.objects.filter(username=MARKER_USERNAME).exists():
            console.print(
                f"The demo is already loaded (the user {MARKER_USERNAME!r} exists): nothing was added. "
                "Sign in with the passwords printed when it was loaded."
            )
            return
        existing = Party.objects.count()
        if existing:
            raise CommandError(
                f"This database already holds {existing} parties. The demo loads only into an empty CRM, "
                "so sample records never mix with real ones: point FRIDAY_DATA_DIR at a fresh directory, e.g. "
                "FRIDAY_DATA_DIR=./var-demo friday demo, then FRIDAY_DATA_DIR=./var-demo make run."
            )
        columns = (
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        loader = Loader(seed, Progress(*columns, console=console))
        try:
            with (
                loader.progress,
                transaction.atomic(),
            ):  # all or nothing: a failed load leaves no marker behind
                crew = loader.run()
        except FridayError as exc:
            raise CommandError(f"{exc.field + ': ' if exc.field else ''}{exc.detail}") from exc
        self.report(console, loader, crew)

    def report(self, console: Console, loader: Loader, crew: Crew) -> None:
        ids = [p.pk for p in loader.parties]
        roles = Counter(PartyRole.objects.filter(party_id__in=ids).values_list("role", flat=True))
        kinds = Counter(p.kind for p in loader.parties)
        console.print(f"\n[bold green]{BUSINESS} is loaded.[/]")
        console.print(
            f"{len(ids)} parties ({kinds[PartyKind.PERSON]} people, {kinds[PartyKind.ORGANISATION]} "
            f"organisations): {roles[RoleName.CUSTOMER]} customers, {roles[RoleName.SUPPLIER]} suppliers, "
            f"{roles[RoleName.EMPLOYEE]} employees, {roles[RoleName.PARTNER]} partners. "
            f"{loader.activities} timeline activities over the last {HISTORY_DAYS // 30} months; "
            f"{loader.handovers} hand-overs today."
        )
        table = Table(title="Sign in with", title_justify="left")
        for column in ("username", "role", "team", "password"):
            table.add_column(column)
        if loader.admin_password:
            table.add_row(crew.admin.username, "Admin", "", loader.admin_password)
        for user in crew.users:
            team = crew.user_team.get(user.pk)
            table.add_row(
                user.username, user.get_role_display(), team.name if team else "", loader.staff_password
            )
        console.print(table)
        console.print(
            f"These passwords are shown only once. Start Friday with `friday run` and open {settings.FRIDAY_BASE_URL}"
        )
