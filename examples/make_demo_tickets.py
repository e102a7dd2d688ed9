"""Generate the bundled demo data set ``api/samples/support_tickets.jsonl``.

It writes 500 synthetic customer-support tickets for Lumora, a fictional subscription business
that sells creative software (Lumora Studio, Lumora Cloud, the mobile and web apps) and physical
accessories (pens, docks, a colour calibrator, stands...). Each line is one JSON object::

    {"id": "ticket-0001", "text": "...",
     "metadata": {"expected_label": "billing", "channel": "email", "customer_tier": "pro"}}

``expected_label`` is one of billing, technical, account, shipping and other; ``channel`` is
email, chat, web_form or phone_transcript; ``customer_tier`` is free, pro or enterprise.

The texts are assembled from hand-written fragments (greetings, openers, issue descriptions per
label, details, closers, sign-offs), plus a few whole tickets in Spanish, German and French and
a few deliberately ambiguous ones, by a ``random.Random(2026)``: every run writes the same
file. Stdlib only. Run it from anywhere::

    python examples/make_demo_tickets.py [--output PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

SEED = 2026
TOTAL = 500
#: How many tickets of each label; "other" is deliberately the smallest class.
LABEL_COUNTS = {"billing": 108, "technical": 112, "account": 104, "shipping": 104, "other": 72}
CHANNEL_WEIGHTS = {"email": 35, "chat": 30, "web_form": 24, "phone_transcript": 11}
TIER_WEIGHTS = {"free": 38, "pro": 45, "enterprise": 17}
TONE_WEIGHTS = {"polite": 40, "angry": 17, "confused": 20, "terse": 23}
FOREIGN_RATE = 0.06  #: share of tickets written in Spanish, German or French
AMBIGUOUS_RATE = 0.05  #: share of tickets that could plausibly carry two labels
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "api" / "samples" / "support_tickets.jsonl"

# --------------------------------------------------------------------------------------------
# The world: products, people, places. Placeholders in the fragments below are filled from a
# per-ticket context built out of these (see make_context).
# --------------------------------------------------------------------------------------------

APPS = (
    "Lumora Studio",
    "the Studio desktop app",
    "Lumora Cloud",
    "the Lumora mobile app",
    "the web app",
    "Lumora Studio for iPad",
    "the Android app",
)
ACCESSORIES = (
    "Lumora Pen 2",
    "Pen 2 Lite",
    "Dock Mini",
    "Dock Pro",
    "Calibrator X1",
    "Lumora Keypad",
    "Travel Stand",
    "13-inch sleeve",
    "15-inch sleeve",
    "USB-C hub",
    "replacement nib pack",
    "ColorPad 11",
)
PLANS = ("Pro", "Pro monthly", "Pro annual", "Studio Plus", "Team", "Pro (student)")
OSES = (
    "Windows 11",
    "Windows 10",
    "macOS Sonoma",
    "macOS 14.4",
    "macOS Ventura",
    "iPadOS 17",
    "Android 14",
    "Ubuntu 22.04",
    "a Pixel 8",
    "an M2 MacBook Air",
    "ChromeOS",
)
ERRORS = (
    "E-1042",
    "LMR-409",
    "ERR_SYNC_TIMEOUT",
    "0x80070005",
    "HTTP 502 Bad Gateway",
    "SYNC_CONFLICT_17",
    "E_LICENSE_CHECK (code 17)",
    "ENOSPC",
    "LMR-EXPORT-003",
    "Error 1603",
    "GPU_INIT_FAILED",
    "ERR_CERT_DATE_INVALID",
    "E-2210",
    "LMR-500",
    "TOKEN_EXPIRED",
)
FIRST_NAMES = (
    "Maria",
    "José",
    "Zoë",
    "Jürgen",
    "François",
    "Søren",
    "Aoife",
    "Priyanka",
    "Tom",
    "Chen",
    "Olu",
    "Ana",
    "Kenji",
    "Fatima",
    "Liam",
    "Noémie",
    "Björn",
    "Siobhan",
    "Raj",
    "Emily",
    "Dmitri",
    "Grace",
    "Mateo",
    "Hannah",
    "Yusuf",
    "Chloé",
    "Marek",
    "Inês",
    "Dave",
    "Keisha",
    "Lukas",
    "Amara",
    "Pete",
    "Sofía",
)
LAST_NAMES = (
    "Smith",
    "García",
    "Müller",
    "Dubois",
    "O'Brien",
    "Nakamura",
    "Okafor",
    "Kowalski",
    "Patel",
    "Nguyen",
    "Andersson",
    "Rossi",
    "Jensen",
    "Fernández",
    "Schäfer",
    "Brown",
    "Lefèvre",
    "Walsh",
    "Kim",
    "Haddad",
    "Novak",
    "Reyes",
)
EMAIL_DOMAINS = (
    "gmail.com",
    "outlook.com",
    "proton.me",
    "yahoo.co.uk",
    "gmx.de",
    "icloud.com",
    "fastmail.com",
    "hey.com",
)
COMPANIES = (
    "Northwind Studios",
    "Acme Design Co.",
    "Bluefin Media",
    "Kestrel Architects",
    "Halden & Partners",
    "Mosaic Health",
    "Oakline Publishing",
    "Vireo Labs",
)
AGENTS = ("Priya", "Marcus", "Dana", "Léa", "Sam", "Tomás", "Ines", "Ken")
REGIONS = {
    "us": {
        "currency": "$",
        "cities": ("Denver", "Austin", "Chicago", "Portland", "Atlanta"),
        "carriers": ("UPS", "FedEx", "USPS"),
    },
    "uk": {
        "currency": "£",
        "cities": ("Leeds", "Bristol", "Glasgow", "Manchester", "Cardiff"),
        "carriers": ("Royal Mail", "DPD", "Evri"),
    },
    "eu": {
        "currency": "€",
        "cities": ("München", "Lyon", "Madrid", "Rotterdam", "Zürich"),
        "carriers": ("DHL", "DPD", "La Poste", "Correos", "PostNL"),
    },
}
REGION_WEIGHTS = {"us": 45, "uk": 25, "eu": 30}
PRICES = (
    9.99,
    12.99,
    14.99,
    19.99,
    24.0,
    39.99,
    49.0,
    59.0,
    89.0,
    119.0,
    129.99,
    144.0,
    179.0,
    249.0,
    348.0,
    1188.0,
)
COUNTRIES = (
    "Iceland",
    "Mexico",
    "South Africa",
    "Japan",
    "Norway",
    "Switzerland",
    "Brazil",
    "New Zealand",
    "the Canary Islands",
    "Singapore",
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# --------------------------------------------------------------------------------------------
# Issue descriptions: the sentence that carries the label. At least ~40 per label.
# --------------------------------------------------------------------------------------------

ISSUES: dict[str, tuple[str, ...]] = {
    "billing": (
        "I was charged {amount} twice for my {plan} subscription on {date}.",
        "My card ending in {last4} was billed {amount} even though I cancelled last month.",
        "I'd like a refund for the annual plan I bought by mistake on {date} — I meant to pick "
        "monthly.",
        "The invoice for {date} says {amount}, but my plan is supposed to cost {amount2}.",
        "Can I get a VAT invoice with our company name and VAT number on it?",
        "My payment keeps getting declined, but the card works everywhere else.",
        "Your price went up from {amount_lo} to {amount_hi} and I never got any notice.",
        "The promo code SPRING25 didn't apply at checkout and I paid full price.",
        "I downgraded to Free but was still charged {amount} on {date}.",
        "How do I switch from monthly to annual billing without losing the days I've already "
        "paid for?",
        "There's a charge from LUMORA*STUDIO for {amount} on my statement that I don't recognise.",
        "I cancelled during the free trial but got billed {amount} anyway.",
        "Please update the billing address on our invoices, we moved offices.",
        "I was charged in US dollars even though I'm in the UK, so my bank added a foreign "
        "transaction fee.",
        "Where can I download older invoices? The billing page only shows the last three months.",
        "I need to change the card on file but the 'Update payment method' button just spins.",
        "I paid {amount} for the {acc} bundle but the receipt says {amount2}.",
        "My student discount disappeared when the subscription renewed on {date}.",
        "I was promised a prorated credit when I upgraded, but I don't see it on the invoice.",
        "Why was I charged sales tax? We're a tax-exempt nonprofit and already sent the "
        "certificate.",
        "Could you refund the renewal from {date}? I forgot to cancel and haven't opened the app "
        "since.",
        "The annual renewal was {amount_hi} — last year it was {amount_lo}.",
        "Can we pay by bank transfer instead of credit card?",
        "I got an email saying my payment failed, but my bank shows the money was taken.",
        "I returned the {acc} {days} days ago and still haven't seen the refund.",
        "Is there a way to pause my subscription instead of cancelling? Money is tight this month.",
        "We're being charged for {seats} seats but only {n} people actually use it.",
        "PayPal shows a pending charge of {amount} from you that's been stuck for a week.",
        "I got charged a late fee? I didn't know that was even a thing.",
        "Our finance team needs the invoice to include our purchase order number {po}.",
        "The gift subscription I bought for my brother renewed on MY card.",
        "I'd like to cancel my {plan} plan and get a refund for the unused months.",
        "Apple charged me {amount} through the App Store but the app still says I'm on Free.",
        "My bank flagged your charge as fraud and now my subscription is suspended; how do I pay "
        "what's outstanding?",
        "The checkout page showed {amount_lo} but my card was charged {amount_hi}.",
        "Do you offer discounts for schools or nonprofits?",
        "I was billed for the {acc} even though the order was cancelled before it shipped.",
        "What is the {amount} 'service fee' on my last invoice?",
        "I clicked pay twice by accident and got two confirmations — please refund one of them.",
        "My account is billed in EUR but I'd like to be billed in GBP.",
        "My free trial converted to a paid plan a day early.",
        "Could you send me a receipt for the payment on {date}? I need it for an expense report.",
        "I'm being charged {amount} a month for the extra storage add-on that I never signed up "
        "for.",
        "Is the {amount} charge on {date} for the subscription or for my accessories order?",
        "I switched to the annual plan and was charged the full {amount} without any credit for "
        "the month I'd already paid.",
        "Your cancellation page says I'll get a pro-rata refund, but I got nothing.",
    ),
    "technical": (
        "{app_cap} crashes as soon as I open a project on {os}.",
        "Sync has been stuck at 99% for two days and shows error {error}.",
        "My {acc} won't pair over Bluetooth with my laptop.",
        "After updating to version {ver} the app won't start at all.",
        "Exporting to PDF fails with '{error}'.",
        "Pen pressure on the Lumora Pen 2 stopped working after the last firmware update.",
        "Everything has been really slow since the update; opening a file takes about a minute.",
        "I get a blank white screen when I log into the web app in Chrome.",
        "The mobile app drains my battery, something like 40% in an hour in the background.",
        "The {acc} is not recognised when plugged into the USB-C port, nothing shows up at all.",
        "My files keep showing up twice with '(conflicted copy)' in the name.",
        "Calibration on the Calibrator X1 finishes, but the colours look worse afterwards.",
        "The API has returned HTTP 500 on every call to /v2/projects since this morning.",
        "Keyboard shortcuts stopped working on {os}.",
        "I lost about three hours of work; autosave didn't save anything after {time}.",
        "The installer fails with {error} on {os}.",
        "In dark mode some text is unreadable, grey on dark grey in the export dialog.",
        "The Zapier integration stopped creating tasks on {date}.",
        "The app says 'Offline' even though my internet works fine.",
        "Photos imported from my phone come in rotated 90 degrees.",
        "The Dock Pro drops my external monitor every time the laptop wakes from sleep.",
        "Search returns nothing, even for files I can see in the sidebar.",
        "Uploads over 2 GB fail at around 80% with {error}.",
        "Fonts look blurry on my 4K monitor.",
        "The Windows app freezes if I drag more than {n} files in at once.",
        "Notifications aren't coming through on Android anymore.",
        "Clients who open the share links I send them get 'Access denied'.",
        "After restoring from a backup, about half of my tags are gone.",
        "The buttons on the Lumora Keypad do the wrong things — button 3 triggers undo instead "
        "of zoom.",
        "Version {ver} broke the Photoshop plugin; it no longer shows up in the menu.",
        "The app sits at 100% CPU even when I'm not doing anything.",
        "The web app times out on Safari but works fine in Firefox.",
        "My project won't open: '{error}: file is corrupted or in an unsupported format'.",
        "Is there an outage? Nothing is loading for me.",
        "Printing from the app cuts off the right-hand edge of every page.",
        "The Travel Stand's built-in charger doesn't charge my iPad.",
        "The app asks me to re-enter my licence key after every restart.",
        "Undo only goes back one step now.",
        "The CSV import mangles accented characters: 'é' turns into 'Ã©'.",
        "Your webhooks are delivering every event twice.",
        "The app won't install on my Chromebook; the Play Store says it's incompatible.",
        "Audio in exported videos is out of sync by about half a second.",
        "Double-taps on the Pen 2 only register as a single tap.",
        "The Linux AppImage won't launch: 'error while loading shared libraries: libfuse.so.2'.",
        "Lumora Cloud says I'm using 48 GB, but my files add up to about 10 GB.",
        "The colour picker shows different hex values than the ones I type in.",
        "Brush strokes lag about a second behind the pen on {os}.",
    ),
    "account": (
        "I can't log in; it says my password is wrong but I reset it ten minutes ago.",
        "The password reset email never arrives, and I've checked spam.",
        "I lost my phone and now I can't get past two-factor authentication.",
        "Please change the email on my account from {email} to my new work address.",
        "I'd like to delete my account and all of my data.",
        "My account got locked after too many login attempts. How long until it unlocks?",
        "I accidentally created two accounts; can you merge them?",
        "How do I add a new team member to our workspace?",
        "Someone logged into my account from a country I've never been to.",
        "I need to transfer ownership of our workspace to a colleague before I leave the company.",
        "Can I change my username? I made a typo when I signed up.",
        "'Sign in with Google' just loops back to the login page.",
        "I no longer have access to the email address on my account.",
        "Please send me a copy of all the personal data you hold about me (GDPR subject access "
        "request).",
        "I removed a user from our team but they can still see our projects.",
        "How do I turn off two-factor authentication? I keep getting locked out.",
        "My account says 'suspended' and I have no idea why.",
        "I signed up with Apple's 'Hide My Email' and now I can't work out which address to log "
        "in with.",
        "Can you restore my account? I deleted it by mistake yesterday.",
        "The verification link in the email says it has expired, every single time.",
        "I want to turn my personal account into a team account without losing my files.",
        "My name shows up wrong everywhere: 'Jos?' instead of 'José'.",
        "How do I see which devices are logged into my account?",
        "Our admin left the company and nobody else has admin rights on the workspace.",
        "I want to stop all the marketing emails but keep my account.",
        "The login page says 'account not found', but I've been a customer for years.",
        "It won't accept my new password and doesn't say which requirement it fails.",
        "My recovery codes don't work.",
        "Can two people share one Pro login?",
        "How do I change the language of my account to German?",
        "I got an email saying my email address was changed, and I did NOT do that.",
        "I got a new phone and need to move my authenticator to it.",
        "Please remove my old phone number (ending {last4}) from the account.",
        "The invitation link my team sent me says it's invalid.",
        "My profile picture won't update, it keeps showing the old one.",
        "I want to close my company's workspace but keep my personal account.",
        "How can I download all my projects before I close my account?",
        "The magic login link opens the app and then asks me to log in again.",
        "My colleague's workspace lists my email address as the owner; how did that happen?",
        "I'd like to change the name on my account, I've gone back to my maiden name.",
        "Can you tell me whether there's an account under {email}? I don't remember signing up.",
        "Our workspace shows {seats} seats but I can't invite anyone, it says the limit is "
        "reached.",
        "Logging in with my YubiKey stopped working.",
        "I keep getting 'session expired' a few seconds after logging in.",
        "I changed my email address but all the notifications still go to the old one.",
    ),
    "shipping": (
        "My order {order} was supposed to arrive on {date} and it still hasn't shown up.",
        "Tracking for {tracking} hasn't updated in {days} days.",
        "The {acc} arrived with a cracked casing.",
        "I received a {acc2} instead of the {acc} I ordered.",
        "Can I change the shipping address on order {order}? It hasn't shipped yet.",
        "The box arrived empty, just packing paper inside.",
        "{carrier} says it was delivered but there's nothing at my door.",
        "Do you ship to {country}?",
        "How do I return the {acc}? It doesn't fit my setup.",
        "The charging cable that's listed in the box contents is missing from my order.",
        "I paid for express shipping and it's been {days} days.",
        "Part of my order arrived, but the {acc} is missing.",
        "The parcel was returned to sender. Can you send it again?",
        "The return label you emailed won't scan at the {carrier} drop-off.",
        "Could you combine my two orders into one shipment?",
        "My order has been 'processing' for over a week. When will it ship?",
        "The courier left my parcel with a neighbour I don't even know.",
        "I need the order before {date}. Can you upgrade the delivery?",
        "The tracking link in the confirmation email goes to a 404 page.",
        "I received the {acc} twice but only ordered one.",
        "My parcel has been stuck in customs for {days} days.",
        "I've moved; can you update the address for my next accessory shipment?",
        "The {acc} I received looks used: scratches and fingerprints all over it.",
        "Please cancel order {order}, I picked the wrong colour.",
        "Can I collect the order from a parcel locker instead of home delivery?",
        "The driver said my address was incomplete, but it's the same one I always use.",
        "The order confirmation shows my old address.",
        "When will the {acc} be back in stock? My pre-order date keeps slipping.",
        "The box was soaking wet and the {acc} inside doesn't look right.",
        "I refused the delivery because the box was crushed — what happens now?",
        "I got a 'failed delivery' card but I was home all day.",
        "The replacement {acc} you promised still hasn't shipped.",
        "Which carrier do you use for Canada? My building needs to know in advance.",
        "This quarter's accessory kit never arrived.",
        "The delivery estimate for order {order} changed from {date} to 'unknown'.",
        "My name is misspelled on the label and the depot won't release the parcel.",
        "Could you ship to my office instead? Nobody is home during the day.",
        "I ordered the 15-inch sleeve and got the 13-inch one.",
        "I'd like to exchange the {acc} for the black version.",
        "{carrier} has lost my package; tracking has said 'exception' since {date}.",
        "Only one of the three boxes in my order was delivered.",
        "Can you deliver to a PO box?",
        "The return I sent back on {date} still shows as not received on your end.",
        "I was asked to pay {amount} in import duties before delivery, but your site said duties "
        "were included.",
        "The delivery was scheduled for a Saturday but you don't deliver on weekends here?",
    ),
    "other": (
        "Are you planning a Linux version of the desktop app?",
        "Just wanted to say the new update is fantastic, the speed difference is huge.",
        "I'm a journalist writing about creative software. Could I speak to someone in PR?",
        "Do you have a partner or reseller programme for agencies?",
        "It would be great to export straight to Figma.",
        "Is there a public roadmap anywhere?",
        "Are you hiring? I couldn't find a careers page.",
        "Any plans for an in-person user meetup in {city}?",
        "I'm a teacher; am I allowed to use Lumora in class and post tutorials on YouTube?",
        "Do you use customer files to train AI models?",
        "Suggestion: let us pin favourite brushes to the toolbar.",
        "Your support agent {agent} was incredibly helpful last week, please pass on my thanks.",
        "Could I interview someone on your team for my thesis on subscription business models?",
        "Where are your accessories manufactured?",
        "Do you publish a sustainability report, or anything about recycling the packaging?",
        "Is there an affiliate programme? I run a YouTube channel about photo editing.",
        "Could you add a left-handed layout option?",
        "We'd love to have someone from Lumora speak at our design conference in {city}.",
        "Is the app usable with a screen reader? Asking for a blind colleague.",
        "Do you offer on-site training for teams?",
        "I have an idea for a batch-rename feature — who should I send it to?",
        "Will Lumora have a stand at any trade shows this year?",
        "Can I use your logo in a review on my blog?",
        "I'd like to report a security vulnerability. Where is your disclosure policy?",
        "The tutorial video on your homepage has the wrong audio track.",
        "Do you have a student ambassador programme?",
        "Any plans to support the Apple Vision Pro?",
        "Small thing: there's a typo on your pricing page ('recieve').",
        "Can you recommend a monitor that works well with the Calibrator X1?",
        "Is there a community forum or Discord server?",
        "What's the actual difference between Pro and Enterprise? Trying to pitch it to my boss.",
        "Would you ever consider a one-off lifetime licence instead of a subscription?",
        "Love the product, but the new app icon is ugly, sorry.",
        "Do you donate licences to charities? We run a small animal shelter.",
        "I'm running a photography workshop and wondered if you lend demo units.",
        "What does the name Lumora actually mean?",
        "Could you fill in our supplier security questionnaire before we sign anything?",
        "Heads-up: someone is selling fake Lumora Pens on eBay.",
        "Do you have a referral scheme? Three of my friends signed up because of me.",
        "Can I get a printed copy of the user manual?",
        "I'd love a feature that lets me compare two versions of a file side by side.",
        "Is there a way to suggest new templates for the template gallery?",
        "Does Lumora have an office in {city}? I'd like to drop off a thank-you card.",
    ),
}

#: Issues that only make sense for enterprise customers (drawn ~35% of the time for them).
ENTERPRISE_ISSUES: dict[str, tuple[str, ...]] = {
    "billing": (
        "Procurement needs a formal quote for {seats} seats before {date}.",
        "We were invoiced for {seats} seats but our contract says {seats2}.",
        "Our invoice went to a former employee; please send future invoices to "
        "accounts-payable@{company_slug}.com.",
        "Can we move from card payments to annual invoicing with net-30 terms?",
    ),
    "technical": (
        "SAML SSO is failing for everyone in our org with {error}.",
        "The admin console shows 'sync paused' for {n} of our users.",
        "Our SCIM provisioning job errors out on every user with an apostrophe in their name.",
        "The on-prem connector stopped talking to your servers after we rotated certificates.",
    ),
    "account": (
        "We need to provision {seats} new users in one go; is there a bulk import?",
        "Please verify our company domain so people can't sign up with personal accounts.",
        "How do I make a second person a workspace owner for {company}?",
        "An employee left and we need their projects transferred to their manager.",
    ),
    "shipping": (
        "We ordered {n} Dock Pros for the office and only half of them arrived.",
        "Can you split our accessories order across our {city} and London offices?",
        "We need proof-of-delivery paperwork for order {order} for our auditors.",
    ),
    "other": (
        "Can you share your SOC 2 report and security whitepaper with our IT team?",
        "We'd like to talk to someone about a multi-year agreement for {company}.",
        "Do you offer a dedicated customer success manager at our size?",
    ),
}

#: Very short messages, as people type them in a hurry.
TERSE: dict[str, tuple[str, ...]] = {
    "billing": (
        "refund pls",
        "why was i charged twice",
        "charged {amount} after cancelling??",
        "need an invoice for {date}",
        "cancel my sub and refund me",
        "card declined again",
        "wrong amount on my invoice",
        "what is this {amount} charge",
        "promo code not working",
        "billed for seats we dont use",
        "how do i get a receipt",
        "stop charging me",
    ),
    "technical": (
        "app keeps crashing",
        "sync broken again",
        "getting {error}",
        "pen not connecting",
        "export fails every time",
        "app wont open after update",
        "dock not working with my monitor",
        "everything super slow today",
        "web app is just a blank screen",
        "api down?",
        "{acc} not detected",
        "keeps freezing on {os}",
    ),
    "account": (
        "cant log in",
        "reset email not coming",
        "locked out of my account",
        "delete my account",
        "change my email to {email}",
        "lost phone, 2fa help",
        "need admin access",
        "invite link invalid",
        "why is my account suspended",
        "how do i change my password",
        "merge my 2 accounts pls",
    ),
    "shipping": (
        "where is my order {order}",
        "tracking not updating",
        "item arrived broken",
        "wrong item",
        "{acc} missing from box",
        "change address pls",
        "package says delivered, it's not",
        "when will {order} ship",
        "need a return label",
        "parcel stuck in customs",
        "order {order} status?",
    ),
    "other": (
        "linux version?",
        "love the app",
        "do you have an affiliate program",
        "press contact?",
        "feature request: tabs",
        "are you hiring",
        "who do i talk to about a partnership",
        "is there a discord",
        "any student ambassador thing?",
    ),
}

# --------------------------------------------------------------------------------------------
# Follow-up details, per label and shared.
# --------------------------------------------------------------------------------------------

#: A leading "~" marks a detail that also fits a question; the rest only fit a problem report.
DETAILS: dict[str, tuple[str, ...]] = {
    "billing": (
        "It shows on my statement as LUMORA*SUB {amount}.",
        "I've attached a screenshot of the bank statement.",
        "~My account email is {email}.",
        "This was on the card ending {last4}.",
        "~I've been a customer since {year}.",
        "The billing page says my next payment isn't due until {date2}.",
        "My bank told me to contact you first before they open a dispute.",
        "The invoice number is INV-{inv}.",
        "~I'm on the {plan} plan.",
        "It happened on {date}.",
        "~We need this sorted before our month-end close.",
        "I only noticed because my account went overdrawn.",
        "I'd prefer a refund rather than account credit.",
        "I turned off auto-renew weeks ago and I have the confirmation email.",
        "That's {amount} I wasn't expecting to pay.",
        "Nobody on my team remembers approving this.",
    ),
    "technical": (
        "~I'm on {os}, app version {ver}.",
        "I've tried reinstalling and restarting, no change.",
        "It started right after the update on {date}.",
        "The exact message is: {error}.",
        "It happens on both my laptop and my desktop.",
        "Other apps work fine, so it's not my internet.",
        "I cleared the cache like the help article says, still broken.",
        "~It's happening to {n} people on my team.",
        "Logs attached in case they help.",
        "It worked fine until last week.",
        "~I'm using it with a {acc}, if that matters.",
        "This is blocking a client deadline on {date}.",
        "It happens about {n} times a day.",
        "Steps: open the app, open any project, click Export, and it falls over.",
        "Tried an incognito window too, same thing.",
        "~I'm on {os}.",
    ),
    "account": (
        "~My username is {username}.",
        "~The account is under {email}.",
        "I've tried resetting the password {n} times now.",
        "I don't have the old phone anymore.",
        "~I'm the workspace admin.",
        "It's been like this since {date}.",
        "Same result in the app and on the website.",
        "~I can verify my identity however you need.",
        "The last time I logged in successfully was {date}.",
        "I've checked spam, promotions, everything.",
        "~I really don't want to lose my projects.",
        "~I'm on the {plan} plan, if that matters.",
    ),
    "shipping": (
        "~The order number is {order}.",
        "Tracking number: {tracking} ({carrier}).",
        "~I ordered it on {date}.",
        "The confirmation email said delivery within {days} days.",
        "~I need it for a trip on {date}.",
        "I've attached photos of the box.",
        "~It was a gift, so this is really annoying.",
        "The address on the order is correct, I double-checked.",
        "{carrier} told me to contact the sender.",
        "I paid {amount} for express delivery.",
        "~I'm in {city}, if that matters.",
        "Nobody left a card or a note.",
    ),
    "other": (
        "No rush at all.",
        "I've been using Lumora since {year}.",
        "Happy to jump on a call if that's easier.",
        "Not a complaint, just curious.",
        "We're a team of about {n} designers.",
        "I couldn't find anything about this on your website.",
        "Feel free to forward this to the right person.",
        "Keep up the good work.",
    ),
}
SHARED_DETAILS = (
    "I've been a customer for {years} years.",
    "This is the second time I've written in about this.",
    "My account email is {email}.",
    "I'm on the {tier_name} plan.",
    "I'm travelling next week, so email is best.",
)

# --------------------------------------------------------------------------------------------
# Tone: openers and closers; channel: greetings, subjects, sign-offs, phone lines.
# --------------------------------------------------------------------------------------------

OPENERS = {
    "polite": (
        "Hope you're well.",
        "I hope someone can help with this.",
        "I've been using Lumora for a while and love it, but I've hit a snag.",
        "Sorry to bother you.",
        "I wonder if you can help.",
    ),
    "angry": (
        "This is getting ridiculous.",
        "I am extremely frustrated.",
        "Third time I'm writing about this!!",
        "Honestly unbelievable.",
        "I've been a customer for {years} years and I've never been treated like this.",
        "Seriously?",
        "Not happy at all.",
        "I'm fed up.",
        "Nobody has answered my last two emails.",
        "What is going on with your service?",
        "I'm absolutely furious right now.",
    ),
    "confused": (
        "Not sure if this is the right place to ask.",
        "I'm a bit confused.",
        "Quick question, maybe a silly one.",
        "I'm not very techy, so bear with me.",
        "Sorry if this has been asked before.",
        "I'm not sure what happened here.",
        "Can someone help me understand something?",
        "Um, this might be my fault?",
    ),
}
CLOSERS = {
    "polite": (
        "Thanks in advance!",
        "Thank you for your help.",
        "Appreciate it.",
        "Many thanks.",
        "Thanks so much!",
        "Looking forward to hearing from you.",
        "Cheers.",
        "Thanks for looking into it.",
        "Have a great day!",
    ),
    "angry": (
        "Fix this or I'm cancelling.",
        "I expect a response TODAY.",
        "This is NOT acceptable.",
        "I want this resolved immediately.",
        "If this isn't sorted this week, I'm done with Lumora.",
        "Very disappointed.",
        "Please don't send me another canned reply.",
        "Sort it out.",
        "I'm seriously considering switching to a competitor.",
    ),
    "confused": (
        "Am I doing something wrong?",
        "Could someone explain what I should do?",
        "Any help would be appreciated.",
        "Is that normal?",
        "What should I do?",
        "Thanks, and sorry for the confusion!",
        "Sorry if this is a dumb question.",
    ),
}
CONNECTORS = ("So, ", "Basically, ", "Long story short, ", "Quick one: ", "Anyway, ")
PROPER_NOUNS = frozenset(
    (
        "Lumora",
        "Apple",
        "PayPal",
        "Google",
        "Zapier",
        "Photoshop",
        "Linux",
        "Dock",
        "Pen",
        "Calibrator",
        "Travel",
        "Royal",
        "La",
        "Evri",
        "Correos",
        "SAML",
        "SCIM",
        "Procurement",
        "Customs",
    )
)
EMAIL_GREETINGS = (
    "Hi,",
    "Hello,",
    "Hi there,",
    "Good morning,",
    "Hello support team,",
    "Hi Lumora team,",
    "Dear Sir or Madam,",
    "Hey folks,",
    "Good afternoon,",
    "To whom it may concern,",
    "Hi team,",
)
CHAT_GREETINGS = ("hi", "hey", "hello", "Hi!", "hiya", "Hello", "hey there", "hi hi")
SUBJECTS = {
    "billing": (
        "Billing question",
        "Problem with a charge",
        "Billing issue - urgent",
        "Question about my bill",
        "My subscription",
        "Re: Your Lumora receipt",
        "Payment",
    ),
    "technical": (
        "Problem with the app",
        "Bug report",
        "Something's broken",
        "Technical issue",
        "Not working",
        "Problem after update",
        "Issue with {app}",
    ),
    "account": (
        "Account problem",
        "Account access",
        "Question about my account",
        "Login issue",
        "Account settings",
        "Security concern",
    ),
    "shipping": (
        "Order {order}",
        "Problem with my order",
        "Delivery issue",
        "About my order",
        "Re: Your order has shipped",
        "Order {order} - help",
    ),
    "other": (
        "Question",
        "Quick question",
        "Hello",
        "Inquiry",
        "A question about Lumora",
        "Feedback",
        "Idea",
    ),
}
#: (keyword in the issue, subject) pairs per label, tried before the plain per-label subjects
#: so that most subjects match the message under them.
KEYWORD_SUBJECTS: dict[str, tuple[tuple[str, str], ...]] = {
    "billing": (
        ("twice for", "Double charge"),
        ("pay twice", "Duplicate payment"),
        ("refund", "Refund request"),
        ("invoice", "Invoice question"),
        ("receipt", "Receipt needed"),
        ("declined", "Payment declined"),
        ("trial", "Free trial charge"),
        ("price", "Price increase?"),
        ("promo", "Promo code"),
        ("cancel", "Charged after cancelling"),
    ),
    "technical": (
        ("crash", "App crashing"),
        ("sync", "Sync not working"),
        ("export", "Export problem"),
        ("slow", "Slow performance"),
        ("install", "Can't install"),
        ("pair", "Pen not connecting"),
        ("dock", "Dock issue"),
        ("api", "API errors"),
        ("update", "Broken by update"),
    ),
    "account": (
        ("can't log in", "Can't log in"),
        ("password", "Password problem"),
        ("two-factor", "2FA problem"),
        ("authenticator", "2FA problem"),
        ("delete my account", "Delete my account"),
        ("locked", "Locked out"),
        ("merge", "Merge accounts"),
        ("email address", "Email address change"),
        ("workspace", "Workspace access"),
    ),
    "shipping": (
        ("tracking", "Tracking not updating"),
        ("return the", "Return request"),
        ("return label", "Return label problem"),
        ("customs", "Customs fees"),
        ("cracked", "Damaged item"),
        ("crushed", "Damaged item"),
        ("instead of the", "Wrong item received"),
        ("missing", "Missing item"),
        ("address", "Change of address"),
        ("delivered", "Not delivered"),
    ),
    "other": (
        ("linux version", "Linux version?"),
        ("hiring", "Careers"),
        ("journalist", "Press inquiry"),
        ("partner", "Partnership inquiry"),
        ("suggestion", "Suggestion"),
        ("feature", "Feature request"),
    ),
}
GENERIC_SUBJECTS = (
    "Help",
    "Support request",
    "(no subject)",
    "URGENT",
    "Fwd: help",
    "Question about Lumora",
)
SIGNOFFS = (
    "Thanks,\n{first}",
    "Best,\n{first}",
    "Kind regards,\n{fullname}",
    "Regards,\n{fullname}",
    "Cheers,\n{first}",
    "{first}",
    "Sent from my iPhone",
    "Thank you,\n{fullname}\n{company}",
    "Many thanks,\n{first} {initial}.",
    "— {first}",
)
ANGRY_SIGNOFFS = (
    "{fullname}",
    "— {first}",
    "A very unhappy customer,\n{fullname}",
    "{first}\nSent from my iPhone",
)
CHAT_EMOJI = {
    "polite": (" 🙂", " 🙏", " 👍", " :)"),
    "angry": (" 😡", " 🤬", " 😤"),
    "confused": (" 😅", " 🤔", " 😕"),
    "terse": (" 🙏", " 😩", "!!"),
}
AGENT_GREETINGS = (
    "Thank you for calling Lumora support, this is {agent}. How can I help?",
    "Lumora support, {agent} speaking. What can I do for you today?",
    "Hi, you're through to Lumora. My name's {agent}, how can I help?",
    "Good morning, Lumora customer care, {agent} here.",
)
AGENT_FOLLOWUPS = (  #: questions that "no, that's it" answers as well as a detail does
    "Got it, let me pull up your account. Anything else I should know?",
    "Okay, I understand. Is there anything else?",
    "Right, thanks. Anything else before I look into it?",
)
AGENT_PROMPTS = (  #: only followed by a detail
    "Mm-hm. Go on.",
    "Right, thanks. Can you give me a few more details?",
)
AGENT_CLOSERS = (
    "Thanks, I'll raise this with the team and email you an update.",
    "Okay, let me check that for you. One moment, please.",
    "Understood, I'm opening a ticket for this now.",
    "All right, I'm going to put you on a brief hold.",
)
AGENT_SYMPATHY = (  #: follow-ups that only fit a problem, not a question or a compliment
    "I'm sorry to hear that. Is there anything else I should know?",
    "Oh no, sorry about that. Anything else before I have a look?",
)
SPOKEN_OPENERS = (
    "Hi, yeah, so",
    "Hello, um,",
    "Yes, hi.",
    "Hey. So",
    "Hi there, I'm calling because",
    "Yeah hi,",
    "Hello? Yes, hi.",
    "Hi. Um.",
)
SPOKEN_NO_DETAILS = (
    "No, that's basically it.",
    "Um, not really, no.",
    "That's it, yeah.",
    "I don't know, it just [inaudible] happens.",
    "Nope.",
)

# --------------------------------------------------------------------------------------------
# Whole tickets: foreign-language ones (always sent from the EU) and ambiguous ones, whose
# label is the most defensible reading rather than an obvious one.
# --------------------------------------------------------------------------------------------

FOREIGN: dict[str, tuple[str, ...]] = {
    "billing": (
        "Hola, me han cobrado dos veces la suscripción Pro este mes ({amount} cada vez). "
        "¿Pueden devolverme uno de los cargos? Gracias.",
        "Cancelé la suscripción el {dnum} pero hoy me han vuelto a cobrar {amount}. "
        "Quiero el reembolso, por favor.",
        "Guten Tag, ich habe am {dnum} eine Rechnung über {amount} erhalten, obwohl ich mein Abo "
        "schon gekündigt hatte. Bitte erstatten Sie den Betrag.",
        "Können Sie mir bitte eine Rechnung mit unserer USt-IdNr. ausstellen? Die aktuelle ist "
        "ohne Firmennamen.",
        "Bonjour, j'ai été débité de {amount} alors que j'avais résilié mon abonnement. "
        "Merci de me rembourser.",
        "Bonjour, je voudrais passer de l'abonnement mensuel à l'abonnement annuel. "
        "Comment faire sans payer deux fois ?",
    ),
    "technical": (
        "La aplicación se cierra sola cada vez que intento exportar un proyecto. Error {error}.",
        "El Lumora Pen 2 no se conecta por Bluetooth con mi portátil, ya lo he reiniciado "
        "varias veces.",
        "Seit dem Update auf Version {ver} startet die App nicht mehr. Ich nutze {os}.",
        "Die Synchronisierung hängt seit gestern bei 99 % fest. Was kann ich tun?",
        "L'application plante au démarrage depuis la mise à jour. Code d'erreur : {error}.",
        "Le stylet ne fonctionne plus après la mise à jour du firmware, la pression n'est plus "
        "détectée.",
    ),
    "account": (
        "No puedo iniciar sesión, dice que mi contraseña es incorrecta aunque la acabo de cambiar.",
        "Hola, quiero eliminar mi cuenta y todos mis datos, por favor.",
        "Ich bekomme keine E-Mail zum Zurücksetzen des Passworts. Den Spam-Ordner habe ich schon "
        "geprüft.",
        "Bitte ändern Sie die E-Mail-Adresse meines Kontos auf {email}. Danke!",
        "J'ai perdu mon téléphone et je ne peux plus me connecter à cause de la double "
        "authentification.",
        "Bonjour, comment ajouter un collègue à notre espace de travail ? Merci d'avance.",
    ),
    "shipping": (
        "Mi pedido {order} todavía no ha llegado y el seguimiento no se actualiza desde hace "
        "{days} días.",
        "El {acc} llegó roto, la caja estaba aplastada. ¿Cómo lo devuelvo?",
        "Meine Bestellung {order} ist immer noch nicht angekommen. Laut {carrier} wurde sie "
        "zugestellt, aber ich habe nichts erhalten.",
        "Ich habe den falschen Artikel bekommen – bestellt war ein {acc}, geliefert wurde ein "
        "{acc2}.",
        "Ma commande {order} est bloquée en douane depuis une semaine. Que dois-je faire ?",
        "Est-ce que vous livrez en Belgique ? Je ne trouve pas l'option au moment de payer.",
    ),
    "other": (
        "¿Tienen planes de lanzar una versión para Linux? Sería genial.",
        "Ich wollte nur sagen: Das neue Update ist großartig. Danke an das ganze Team!",
        "Bonjour, je suis journaliste et j'aimerais interviewer quelqu'un de votre équipe.",
        "Gibt es ein Partnerprogramm für Agenturen? Wir sind ein kleines Studio in {city}.",
    ),
}
AMBIGUOUS: dict[str, tuple[str, ...]] = {
    "billing": (
        "I paid {amount} for express shipping but the parcel took two weeks anyway. Can I have "
        "that money back?",
        "I want to cancel everything: the subscription and the accessories order that hasn't "
        "shipped yet.",
        "The app says my card has expired, but I updated it yesterday.",
        "Got an email saying 'action required on your subscription'. Is that real or phishing?",
    ),
    "technical": (
        "Ever since I changed my password the desktop app can't sync; it just says "
        "'authentication failed'.",
        "The mobile app keeps logging me out every few minutes.",
        "My Pen 2 arrived today but it won't turn on at all. Is there a fix or do I send it back?",
        "Your website won't let me check out, the Pay button does nothing.",
        "The Dock Pro arrived, but my monitor stays black when it's plugged in through it.",
    ),
    "account": (
        "I paid for Pro but my account still shows Free. Not sure if that's a payment problem "
        "or an account problem.",
        "I can't log in to download my invoices.",
        "My company is shutting down. What happens to our workspace and the months we already "
        "paid for?",
        "My trial ended and I lost access to my projects. I just want to get my files out.",
    ),
    "shipping": (
        "Customs charged me {amount} on delivery of order {order}. I thought duties were included?",
        "Where's my stuff???",
        "I was charged for the {acc} but never got a shipping confirmation.",
        "The {acc} works, but it came without the UK plug. Do I need to send it back?",
    ),
    "other": (
        "Hello? Is anyone there?",
        "Not sure who to ask. Is Lumora going to be around next year? I saw the layoffs news.",
        "Two things: my login is a bit flaky and also, any chance of a Linux version? Mostly "
        "the second one.",
    ),
}


# --------------------------------------------------------------------------------------------
# Generation.
# --------------------------------------------------------------------------------------------


class Deck:
    """Draws without replacement and reshuffles when empty, so every fragment gets used."""

    def __init__(self, items: Sequence[str], rng: random.Random) -> None:
        self._items = list(items)
        self._rng = rng
        self._pile: list[str] = []

    def draw(self) -> str:
        if not self._pile:
            self._pile = self._items[:]
            self._rng.shuffle(self._pile)
        return self._pile.pop()


@dataclass
class Body:
    lead: list[str] = field(default_factory=list)  #: tone opener(s)
    issue: str = ""
    details: list[str] = field(default_factory=list)
    closer: str | None = None

    def sentences(self) -> list[str]:
        return [*self.lead, self.issue, *self.details, *([self.closer] if self.closer else [])]


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def ascii_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in ".-"))


def money(
    rng: random.Random, currency: str, avoid: str | None = None, value: float | None = None
) -> str:
    while True:
        value = value or rng.choice(PRICES)
        number = f"{value:,.2f}" if value % 1 or rng.random() < 0.5 else f"{value:,.0f}"
        if currency == "€" and rng.random() < 0.4:
            text = number.replace(",", "X").replace(".", ",").replace("X", ".") + " €"
        elif currency == "$" and rng.random() < 0.1:
            text = f"USD {number}"
        else:
            text = f"{currency}{number}"
        if text != avoid:
            return text
        value = None


def some_date(rng: random.Random) -> str:
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    year = 2025 if month > 3 else rng.choice((2025, 2026))
    name = MONTHS[month - 1]
    suffix = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd"}.get(day, "th")
    return rng.choice(
        (
            f"{name} {day}",
            f"{day} {name}",
            f"{name} {day}{suffix}",
            f"{month}/{day}",
            f"{year}-{month:02d}-{day:02d}",
            f"{name[:3]} {day}",
            f"the {day}{suffix}",
            f"{day}/{month}/{year}",
        )
    )


def tracking_number(rng: random.Random, carrier: str) -> str:
    digits = "0123456789"
    alnum = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
    if carrier == "UPS":
        return "1Z" + "".join(rng.choices(alnum, k=16))
    if carrier == "Royal Mail":
        return "RM" + "".join(rng.choices(digits, k=9)) + "GB"
    if carrier == "USPS":
        return "9400" + "".join(rng.choices(digits, k=18))
    return "".join(rng.choices(digits, k=rng.choice((10, 12, 14))))


def make_context(rng: random.Random, region: str, tier: str) -> dict[str, str]:
    info = REGIONS[region]
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    carrier = rng.choice(info["carriers"])
    acc, acc2 = rng.sample(ACCESSORIES, 2)
    app = rng.choice(APPS)
    company = rng.choice(COMPANIES)
    amount = money(rng, info["currency"])
    low, high = sorted(rng.sample(PRICES[:12], 2))
    seats = rng.choice((12, 15, 25, 40, 50, 75, 120, 200, 350))
    order_digits = "".join(rng.choices("0123456789", k=6))
    day, month = rng.randint(1, 28), rng.randint(1, 12)
    handle_number = rng.randint(7, 2024)
    email_user = rng.choice(
        (f"{first}.{last}", f"{first}{rng.randint(1, 99)}", f"{first[0]}{last}")
    ).lower()
    return {
        "first": first,
        "fullname": f"{first} {last}",
        "initial": last[0],
        "email": f"{ascii_fold(email_user)}@{rng.choice(EMAIL_DOMAINS)}",
        "username": f"{ascii_fold(first).lower()}{rng.choice(('', '_', '.'))}{handle_number}",
        "company": company,
        "company_slug": ascii_fold(company.split()[0]).lower(),
        "agent": rng.choice(AGENTS),
        "app": app,
        "app_cap": app[0].upper() + app[1:],
        "acc": acc,
        "acc2": acc2,
        "plan": "Enterprise" if tier == "enterprise" else rng.choice(PLANS),
        "tier_name": tier.capitalize(),
        "os": rng.choice(OSES),
        "ver": f"{rng.choice((4, 5))}.{rng.randint(0, 9)}.{rng.randint(0, 12)}",
        "error": rng.choice(ERRORS),
        "amount": amount,
        "amount2": money(rng, info["currency"], avoid=amount),
        "amount_lo": money(rng, info["currency"], value=low),
        "amount_hi": money(rng, info["currency"], value=high),
        "date": some_date(rng),
        "date2": some_date(rng),
        "dnum": f"{day:02d}{rng.choice('./')}{month:02d}{rng.choice('./')}2025",
        "time": rng.choice(("3pm", "about 11:40", "lunchtime", "10 this morning", "9:15")),
        "order": rng.choice((f"LM-{order_digits}", f"#{order_digits}", f"LM{order_digits}")),
        "tracking": tracking_number(rng, carrier),
        "carrier": carrier,
        "city": rng.choice(info["cities"]),
        "country": rng.choice(COUNTRIES),
        "last4": "".join(rng.choices("0123456789", k=4)),
        "inv": "".join(rng.choices("0123456789", k=6)),
        "po": f"PO-{rng.randint(10000, 99999)}",
        "n": str(rng.randint(2, 9)),
        "days": str(rng.randint(3, 21)),
        "years": str(rng.randint(2, 8)),
        "year": str(rng.randint(2017, 2024)),
        "seats": str(seats),
        "seats2": str(seats - rng.choice((2, 5, 10))),
    }


def lower_first(text: str) -> str:
    """Lower-case the first letter, as after "So, ", unless it starts "I" or a proper noun."""
    word = text.split(" ", 1)[0].rstrip(",.;:!?")
    keep = (
        not word
        or word == "I"
        or word.startswith(("I'", "'", '"'))
        or any(c.isupper() or c.isdigit() for c in word[1:])
        or word in PROPER_NOUNS
    )
    return text if keep else text[0].lower() + text[1:]


def casual_lower(text: str) -> str:
    """Lower-case everything typed in a hurry, but leave order numbers and codes alone."""
    return re.sub(r"\S+", lambda m: m[0] if re.search(r"\d", m[0]) else m[0].lower(), text)


TYPO_SWAPS = {
    "receive": "recieve",
    "definitely": "definately",
    "separate": "seperate",
    "because": "becuase",
    "doesn't": "doesnt",
    "can't": "cant",
    "I'm": "Im",
    "don't": "dont",
    "it's": "its",
    "won't": "wont",
    "please": "pls",
    "address": "adress",
    "though": "tho",
    "really": "realy",
    "you": "u",
}


def add_typos(rng: random.Random, text: str) -> str:
    """One or two realistic slips: a common misspelling or a fumbled letter."""
    for _ in range(rng.choice((1, 1, 2))):
        words = text.split(" ")
        known = [i for i, w in enumerate(words) if w in TYPO_SWAPS]
        if known and rng.random() < 0.5:
            i = rng.choice(known)
            words[i] = TYPO_SWAPS[words[i]]
        else:
            plain = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha() and w.islower()]
            if not plain:
                continue
            i = rng.choice(plain)
            w = words[i]
            k = rng.randint(1, len(w) - 2)
            kind = rng.choice(("swap", "drop", "double"))
            if kind == "swap":
                w = w[:k] + w[k + 1] + w[k] + w[k + 2 :]
            elif kind == "drop":
                w = w[:k] + w[k + 1 :]
            else:
                w = w[:k] + w[k] + w[k:]
            words[i] = w
        text = " ".join(words)
    return text


def build_body(
    rng: random.Random,
    decks: dict[str, Deck],
    label: str,
    tier: str,
    tone: str,
    ctx: dict[str, str],
) -> Body:
    body = Body()
    if tier == "enterprise" and rng.random() < 0.35:
        issue = decks[f"enterprise:{label}"].draw()
    else:
        issue = decks[f"issue:{label}"].draw()
    if tone == "terse":
        with_detail = rng.random() < 0.2
        if rng.random() < 0.6:
            body.issue = decks[f"terse:{label}"].draw()
            if with_detail and body.issue[-1] not in ".?!":
                question = body.issue.split(" ", 1)[0] in ("why", "what", "how", "do", "are", "is")
                body.issue += "?" if question else "."
        else:
            body.issue = lower_first(issue)
            if not with_detail and not re.search(r"[.?!] ", issue):
                body.issue = body.issue.rstrip(".")  # a one-sentence note, not even a full stop
        if with_detail:
            body.details.append(decks[f"detail:{label}"].draw().lstrip("~"))
        return body
    if tone == "angry" and rng.random() < 0.85 or tone == "confused" and rng.random() < 0.7:
        body.lead.append(rng.choice(OPENERS[tone]))
    elif tone == "polite" and rng.random() < 0.25:
        body.lead.append(rng.choice(OPENERS["polite"]))
    if rng.random() < 0.12:
        issue = rng.choice(CONNECTORS) + lower_first(issue)
    body.issue = issue
    wanted = rng.choices((0, 1, 2, 3), weights=(28, 40, 24, 8))[0]
    question = issue.endswith("?") and label != "other"
    for _ in range(wanted):
        shared = label != "other" and not question and rng.random() < 0.15
        detail = decks["detail:shared" if shared else f"detail:{label}"].draw()
        if question and not detail.startswith("~"):
            continue
        detail = detail.lstrip("~")
        if detail not in body.details:
            body.details.append(detail)
    if rng.random() < {"polite": 0.7, "angry": 0.75, "confused": 0.6}[tone]:
        body.closer = rng.choice(CLOSERS[tone])
    return body


def render_email(rng: random.Random, label: str, tone: str, body: Body, ctx: dict[str, str]) -> str:
    parts = []
    if rng.random() < 0.55:
        issue = body.issue.lower()
        matching = [subj for key, subj in KEYWORD_SUBJECTS[label] if key in issue]
        if matching and rng.random() < 0.6:
            subject = matching[0]
        elif rng.random() < 0.8:
            subject = rng.choice(SUBJECTS[label]).format_map(ctx)
        else:
            subject = rng.choice(GENERIC_SUBJECTS)
        if tone == "angry" and rng.random() < 0.4:
            subject = subject.upper() + "!!"
        parts.append(f"Subject: {subject}")
    if rng.random() < (0.3 if tone == "terse" else 0.8):
        parts.append(rng.choice(EMAIL_GREETINGS))
    sentences = body.sentences()
    if body.closer and len(sentences) > 2 and rng.random() < 0.5:
        parts.append(" ".join(sentences[:-1]))
        parts.append(sentences[-1])
    else:
        parts.append(" ".join(sentences))
    if tone == "angry":
        if rng.random() < 0.6:
            parts.append(rng.choice(ANGRY_SIGNOFFS).format_map(ctx))
    elif rng.random() < (0.3 if tone == "terse" else 0.75):
        parts.append(rng.choice(SIGNOFFS).format_map(ctx))
    return "\n\n".join(parts)


def render_chat(rng: random.Random, tone: str, body: Body) -> str:
    sentences = body.sentences()
    if rng.random() < 0.5:
        sentences.insert(0, rng.choice(CHAT_GREETINGS))
    joiner = "\n" if rng.random() < 0.25 else " "
    text = joiner.join(sentences)
    if tone in ("terse", "confused") and rng.random() < 0.35:
        text = casual_lower(text)
    if rng.random() < 0.15:
        text = text.rstrip(".") + rng.choice(CHAT_EMOJI[tone])
    return text


def render_web_form(
    rng: random.Random, label: str, tone: str, body: Body, ctx: dict[str, str]
) -> str:
    text = " ".join(body.sentences())
    if rng.random() < 0.35:
        fields = [f"Name: {ctx['fullname']}", f"Email: {ctx['email']}"]
        if label in ("shipping", "billing") and rng.random() < 0.5:
            fields.append(f"Order number: {ctx['order']}")
        return "\n".join([*fields, f"Message: {text}"])
    if tone != "terse" and rng.random() < 0.4:
        text = f"{rng.choice(EMAIL_GREETINGS)} {text}"
    if tone != "terse" and rng.random() < 0.3:
        text = f"{text} {rng.choice(('Thanks, ', 'Thank you, ', '- ', '— '))}{ctx['first']}"
    return text


def render_phone(rng: random.Random, body: Body, ctx: dict[str, str], problem: bool) -> str:
    opener = rng.choice([o for o in SPOKEN_OPENERS if not (body.lead and o.endswith("because"))])
    said = [*body.lead, body.issue]
    if not opener.endswith("."):
        said[0] = lower_first(said[0])
    first_turn = " ".join([opener, *said])
    if rng.random() < 0.15:
        words = first_turn.split(" ")
        words.insert(rng.randint(2, len(words)), "[inaudible]")
        first_turn = " ".join(words)
    rest = [*body.details, *([body.closer] if body.closer else [])]
    followups = (
        AGENT_FOLLOWUPS + (AGENT_SYMPATHY if problem else ()) + (AGENT_PROMPTS if rest else ())
    )
    second_turn = " ".join(rest) if rest else rng.choice(SPOKEN_NO_DETAILS)
    if rest and rng.random() < 0.4:
        second_turn = rng.choice(("Yeah, ", "Um, ", "So ", "Right, ")) + lower_first(second_turn)
    lines = [
        "Agent: " + rng.choice(AGENT_GREETINGS).format_map(ctx),
        f"Customer: {first_turn}",
        "Agent: " + rng.choice(followups),
        f"Customer: {second_turn}",
    ]
    if rng.random() < 0.5:
        lines.append("Agent: " + rng.choice(AGENT_CLOSERS))
    return "\n".join(lines)


def make_ticket_text(
    rng: random.Random, decks: dict[str, Deck], label: str, channel: str, tier: str
) -> str:
    roll = rng.random()
    if roll < FOREIGN_RATE and channel != "phone_transcript":
        ctx = make_context(rng, "eu", tier)
        return decks[f"foreign:{label}"].draw().format_map(ctx)
    ctx = make_context(rng, pick(rng, REGION_WEIGHTS), tier)
    tone = pick(rng, TONE_WEIGHTS)
    if label == "other" and tone == "angry":
        tone = "polite"  # feature requests and press enquiries are not furious
    if channel == "chat" and tone == "polite" and rng.random() < 0.4:
        tone = "terse"
    body = build_body(rng, decks, label, tier, tone, ctx)
    if roll > 1 - AMBIGUOUS_RATE:
        body.issue = decks[f"ambiguous:{label}"].draw()
        body.details = []  # drawn for another issue; they could tip the balance
    body = Body(
        lead=[s.format_map(ctx) for s in body.lead],
        issue=body.issue.format_map(ctx),
        details=[s.format_map(ctx) for s in body.details],
        closer=body.closer.format_map(ctx) if body.closer else None,
    )
    if rng.random() < (0.25 if channel == "chat" else 0.1):
        target = rng.randrange(1 + len(body.details))
        if target == 0:
            body.issue = add_typos(rng, body.issue)
        else:
            body.details[target - 1] = add_typos(rng, body.details[target - 1])
    if channel == "email":
        return render_email(rng, label, tone, body, ctx)
    if channel == "chat":
        return render_chat(rng, tone, body)
    if channel == "web_form":
        return render_web_form(rng, label, tone, body, ctx)
    return render_phone(rng, body, ctx, problem=label != "other")


def make_decks(rng: random.Random) -> dict[str, Deck]:
    decks = {"detail:shared": Deck(SHARED_DETAILS, rng)}
    for label in LABEL_COUNTS:
        decks[f"issue:{label}"] = Deck(ISSUES[label], rng)
        decks[f"enterprise:{label}"] = Deck(ENTERPRISE_ISSUES[label], rng)
        decks[f"terse:{label}"] = Deck(TERSE[label], rng)
        decks[f"detail:{label}"] = Deck(DETAILS[label], rng)
        decks[f"foreign:{label}"] = Deck(FOREIGN[label], rng)
        decks[f"ambiguous:{label}"] = Deck(AMBIGUOUS[label], rng)
    return decks


def generate() -> list[dict[str, object]]:
    rng = random.Random(SEED)
    decks = make_decks(rng)
    labels = [label for label, count in LABEL_COUNTS.items() for _ in range(count)]
    rng.shuffle(labels)
    seen: set[str] = set()
    tickets: list[dict[str, object]] = []
    for number, label in enumerate(labels, start=1):
        channel = pick(rng, CHANNEL_WEIGHTS)
        tier = pick(rng, TIER_WEIGHTS)
        for _ in range(50):
            text = re.sub(r"[ \t]+", " ", make_ticket_text(rng, decks, label, channel, tier))
            text = text.strip()
            if text not in seen:
                break
        else:
            raise RuntimeError(f"could not write a unique text for ticket {number}")
        seen.add(text)
        tickets.append(
            {
                "id": f"ticket-{number:04d}",
                "text": text,
                "metadata": {"expected_label": label, "channel": channel, "customer_tier": tier},
            }
        )
    return tickets


def check(tickets: list[dict[str, object]]) -> None:
    assert len(tickets) == TOTAL, len(tickets)
    assert len({t["id"] for t in tickets}) == TOTAL, "duplicate ids"
    assert len({t["text"] for t in tickets}) == TOTAL, "duplicate texts"
    for ticket in tickets:
        text = str(ticket["text"])
        assert "[[label:" not in text, ticket["id"]
        assert "{" not in text and "}" not in text, f"unfilled placeholder in {ticket['id']}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"where to write the JSONL (default: {DEFAULT_OUTPUT})",
    )
    args = parser.parse_args(argv)
    tickets = generate()
    check(tickets)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", encoding="utf-8", newline="\n") as out:
        for ticket in tickets:
            out.write(json.dumps(ticket, ensure_ascii=False) + "\n")
    counts = Counter(str(t["metadata"]["expected_label"]) for t in tickets)  # type: ignore[index]
    summary = ", ".join(f"{label} {counts[label]}" for label in LABEL_COUNTS)
    print(f"wrote {len(tickets)} tickets to {args.output} ({summary})")


if __name__ == "__main__":
    main()
