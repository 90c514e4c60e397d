"""Word lists the dataset generator draws names, organisations, tags and timeline text from."""

from __future__ import annotations


def _split(text: str, sep: str | None = None) -> list[str]:
    return text.split(sep)


GIVEN_NAMES = _split(
    "Ada Adam Aisha Alan Alice Amelia Amir Ana Andrew Angela Anna Anne Arjun Arthur Ava Barbara Ben Beth "
    "Bilal Brian Callum Carla Caroline Charlie Chloe Chris Claire Daniel David Deborah Dominic Eleanor "
    "Elena Eliza Emily Emma Erik Ethan Eva Faith Fatima Finn Fiona Florence Frank Freya George Grace "
    "Hamza Hannah Harry Hassan Helen Henry Holly Hugo Ian Imogen Isaac Isabel Isla Jack Jacob James Jane "
    "Jasmine Jessica Joanna John Jonathan Joseph Joshua Julia Karen Kate Keith Kieran Laura Leo Liam "
    "Lily Lucy Luke Mark Martha Martin Mary Matthew Maya Mia Michael Mohammed Molly Nathan Niamh Nicola "
    "Noah Oliver Olivia Omar Oscar Patrick Paul Peter Phoebe Poppy Priya Rachel Rebecca Richard Robert "
    "Rosie Ruby Ryan Sam Samuel Sara Sarah Scott Sean Sophie Stephen Steven Susan Thomas Tom Victoria "
    "William Yasmin Zara José Zoë Chloé Renée Łukasz Søren Björn Ngọc Siân Åsa Inés Ángel François "
    "Dòmhnall Małgorzata Jürgen Élodie Núria"
)

FAMILY_NAMES = _split(
    "Abbott Adams Ahmed Ali Allen Anderson Armstrong Atkinson Bailey Baker Barker Barnes Bell Bennett "
    "Brooks Brown Butler Campbell Carter Chapman Clark Clarke Cole Collins Cook Cooper Cox Cunningham "
    "Davies Davis Dawson Dixon Doyle Edwards Ellis Evans Fisher Fletcher Ford Foster Fox Gibson Graham "
    "Grant Gray Green Griffiths Hall Hamilton Harris Harrison Hart Hayes Hill Holmes Hughes Hunt Hussain "
    "Jackson James Jenkins Johnson Johnston Jones Kaur Kelly Kennedy Khan King Knight Lawrence Lee Lewis "
    "Lloyd Marshall Martin Mason Matthews Miller Mills Mitchell Moore Morgan Morris Murphy Murray Owen "
    "Palmer Parker Patel Pearce Phillips Powell Price Reid Reynolds Richards Richardson Roberts Robertson "
    "Robinson Rogers Rose Ross Russell Saunders Scott Shaw Simpson Singh Smith Spencer Stevens Stewart "
    "Stone Sutton Taylor Thomas Thompson Thomson Turner Walker Wallace Walsh Ward Watson Webb Wells West "
    "White Wilkinson Williams Wilson Wood Woods Wright Young O'Brien O'Connor McDonald MacLeod "
    "García Müller Nowak Øster Súilleabháin Nguyễn Lefèvre Sánchez Kowalczyk Gómez Schröder Dvořák"
)

ORG_FIRST = _split(
    "Acorn Alder Anchor Apex Ash Aspen Beacon Birch Bluebell Bramble Bridge Bright Brook Castle Cedar "
    "Channel Chestnut Clear Clover Coastal Copper Crown Crystal Dale Delta Eagle Elm Evergreen Falcon Fern "
    "Fox Glen Golden Granite Green Harbour Hawthorn Heather Highland Holly Horizon Iron Ivy Juniper Kestrel "
    "Lakeside Larch Linden Maple Meadow Merlin Mill Moor North Oak Orchard Pennine Pine Quay Raven Ridge "
    "River Rowan Sage Silver Solent South Spruce Summit Swift Thames Thistle Valley Vale Weald West Willow "
    "Yew Zenith"
)

ORG_SECOND = _split(
    "Plumbing Heating Electrical Joinery Roofing Builders Gardens Landscaping Windows Kitchens Bathrooms "
    "Cleaning Logistics Motors Dental Veterinary Bakery Catering Print Design Consulting Accountancy "
    "Legal Architects Surveyors Lettings Estates Fitness Studios Pharmacy Opticians Nurseries Carpentry "
    "Glazing Flooring Tiling Decorators Security Solar Engineering Supplies Trading Foods Brewing Coffee"
)

ORG_SUFFIX = ["Ltd", "Ltd", "Ltd", "Limited", "& Co", "& Sons", "LLP", "Group", "", "", ""]

JOB_TITLES = [
    "Director",
    "Owner",
    "Office manager",
    "Accounts",
    "Operations manager",
    "Site manager",
    "Buyer",
    "Administrator",
    "Facilities manager",
    "Partner",
    "",
]

TAGS = [
    "VIP",
    "Newsletter",
    "Trade",
    "Referral",
    "Boiler service",
    "Annual contract",
    "Landlord",
    "Commercial",
    "Domestic",
    "Late payer",
    "Prefers phone",
    "Prefers email",
    "Weekend only",
    "Key holder",
    "Dog on site",
    "Warranty",
    "Quote sent",
    "Follow up",
    "Spring 2024 campaign",
    "Christmas card",
    "Local",
    "Out of area",
    "Charity",
    "School",
]

CITIES = [
    ("Manchester", "M"),
    ("Leeds", "LS"),
    ("Sheffield", "S"),
    ("Bristol", "BS"),
    ("London", "N"),
    ("London", "SE"),
    ("Birmingham", "B"),
    ("Liverpool", "L"),
    ("Newcastle upon Tyne", "NE"),
    ("Nottingham", "NG"),
    ("Glasgow", "G"),
    ("Edinburgh", "EH"),
    ("Cardiff", "CF"),
    ("York", "YO"),
]

STREETS = _split(
    "High Street|Station Road|Church Lane|Mill Lane|Park Road|Victoria Road|Green Lane|Manor Road|"
    "Kings Road|Queens Road|The Crescent|Orchard Close|Albert Street|New Road|School Lane|Chapel Street",
    "|",
)

EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com"]

SUBJECTS: dict[str, list[str]] = {
    "note": [
        "Prefers morning visits",
        "Gate code changed",
        "Asked about the annual plan",
        "Parking at the back",
        "Happy with the last visit",
        "Wants a second quote",
        "Moving house in spring",
        "",
    ],
    "call": [
        "Called about the invoice",
        "Booked a visit",
        "Left a voicemail",
        "Rang back about the quote",
        "Asked for a callback next week",
        "Chased payment",
    ],
    "meeting": [
        "Site survey",
        "Quarterly review",
        "Walk-through of the new office",
        "Handover meeting",
        "Quote discussion",
    ],
    "email_in": [
        "Re: your quote",
        "Question about the invoice",
        "Can you come on Friday?",
        "Thanks for the visit",
        "Change of address",
    ],
    "email_out": [
        "Your quote",
        "Invoice attached",
        "Reminder: service due",
        "Appointment confirmed",
        "Following up",
    ],
}

SENTENCES = [
    "Spoke to them about the next service date.",
    "They would like the engineer to call ahead.",
    "Invoice to go to the accounts address, not the site.",
    "Mentioned a neighbour who may need the same work.",
    "Agreed to send a revised quote by the end of the week.",
    "Access through the side gate; the key is with reception.",
    "No answer; will try again tomorrow.",
    "They asked for the warranty details in writing.",
    "Happy with the price, waiting on their manager.",
    "Parts ordered, expected in three working days.",
    "Paid by bank transfer, reference on the remittance.",
    "Wants to move the visit to the afternoon.",
]
