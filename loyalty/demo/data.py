"""Reference data of the demo chain: stores, the catalog, and names to draw members from.

Everything here is fixed; :mod:`loyalty.demo.plan` draws from it with a seeded generator, so
the same spec always gives the same chain.  Prices are in fils (AED minor units).  Emails use
the reserved ``example.*`` domains (RFC 2606) so the demo can never mail a real person.
"""

from __future__ import annotations

from dataclasses import dataclass

CHAIN_NAME = "Oasis Markets"
CURRENCY = "AED"


@dataclass(frozen=True)
class StoreSpec:
    code: str
    name: str
    city: str
    timezone: str
    share: int  # how many members call it home, relative to the others


STORES: tuple[StoreSpec, ...] = (
    StoreSpec("DXB-01", "Oasis Markets Dubai Marina", "Dubai", "Asia/Dubai", 45),
    StoreSpec("SHJ-01", "Oasis Markets Sharjah Al Majaz", "Sharjah", "Asia/Dubai", 30),
    StoreSpec("AUH-01", "Oasis Markets Abu Dhabi Khalidiya", "Abu Dhabi", "Asia/Dubai", 25),
)

# code -> (name, products as "name|price in fils").  Fifteen categories, fourteen products each.
CATALOG: dict[str, tuple[str, tuple[str, ...]]] = {
    "fresh-produce": ("Fruit & Vegetables", (
        "Bananas 1 kg|650", "Tomatoes 1 kg|550", "Cucumbers 1 kg|495", "Red Onions 1 kg|375",
        "Potatoes 2 kg|895", "Lemons 500 g|450", "Carrots 1 kg|425", "Apples Royal Gala 1 kg|995",
        "Oranges Valencia 1 kg|750", "Mangoes Alphonso 1 kg|2450", "Baby Spinach 200 g|895",
        "Fresh Mint Bunch|250", "Avocados 2 pcs|1195", "Capsicum Mix 500 g|995",
    )),
    "dairy-eggs": ("Dairy & Eggs", (
        "Fresh Milk Full Fat 2 L|1250", "Fresh Milk Low Fat 1 L|675", "Laban 1 L|550",
        "Greek Yoghurt 500 g|1150", "Labneh 400 g|1325", "Halloumi 250 g|1595",
        "Feta Cheese 400 g|1495", "Cheddar Slices 200 g|1095", "Butter Unsalted 200 g|1295",
        "Eggs Large 30 pcs|2495", "Eggs Brown 12 pcs|1350", "Cream Cheese 200 g|995",
        "Fresh Cream 250 ml|795", "Ayran 6 x 180 ml|1095",
    )),
    "bakery": ("Bakery", (
        "Arabic Bread 6 pcs|300", "White Toast Bread 600 g|650", "Brown Bread 600 g|725",
        "Croissants Butter 4 pcs|1250", "Za'atar Manakish 2 pcs|900", "Samoon Rolls 6 pcs|500",
        "Kaak with Sesame 400 g|850", "Chocolate Muffins 4 pcs|1495", "Paratha Frozen 5 pcs|895",
        "Baguette|450", "Date Maamoul 12 pcs|1995", "Cheese Fatayer 4 pcs|1200",
        "Burger Buns 6 pcs|695", "Sourdough Loaf|1595",
    )),
    "meat-poultry": ("Meat & Poultry", (
        "Fresh Whole Chicken 1 kg|1895", "Chicken Breast Fillet 1 kg|3295",
        "Chicken Thighs Boneless 1 kg|2695", "Lamb Leg Australian 1 kg|4995",
        "Lamb Chops 500 g|3995", "Beef Mince 500 g|2495", "Beef Striploin 500 g|4995",
        "Mutton Curry Cut 1 kg|4495", "Chicken Shawarma Marinated 1 kg|3495",
        "Beef Burgers 4 pcs|2195", "Turkey Breast Slices 150 g|1495", "Chicken Nuggets 1 kg|2995",
        "Kofta Kebab 500 g|2695", "Chicken Franks 340 g|995",
    )),
    "fish-seafood": ("Fish & Seafood", (
        "Hammour Fillet 500 g|4495", "Salmon Fillet Norwegian 500 g|5495",
        "Shrimps Medium 1 kg|5995", "Sherry Fish Whole 1 kg|3295", "Kingfish Steaks 1 kg|4595",
        "Tuna Chunks in Water 3 x 160 g|1595", "Sardines in Oil 125 g|450",
        "Calamari Rings 500 g|2995", "Sea Bream Whole 1 kg|3795", "Fish Fingers 450 g|1895",
        "Smoked Salmon 200 g|3495", "Crab Sticks 250 g|1195", "Mussels 1 kg|2795",
        "Anchovies 50 g|895",
    )),
    "rice-grains": ("Rice, Grains & Pulses", (
        "Basmati Rice 5 kg|4295", "Basmati Rice Sella 10 kg|7995", "Egyptian Rice 2 kg|1295",
        "Red Lentils 1 kg|895", "Chickpeas 1 kg|995", "Bulgur Fine 1 kg|795", "Freekeh 500 g|1295",
        "Spaghetti 500 g|450", "Penne 500 g|450", "Vermicelli 400 g|395", "Oats Rolled 1 kg|1195",
        "Quinoa White 500 g|1995", "Fava Beans Canned 400 g|325", "Brown Rice 2 kg|1595",
    )),
    "pantry": ("Pantry & Spices", (
        "Sunflower Oil 1.8 L|1695", "Extra Virgin Olive Oil 1 L|3995", "Ghee 800 g|3295",
        "Tomato Paste 6 x 135 g|995", "Tahini 450 g|1395", "Hummus Tin 400 g|495",
        "Sugar White 2 kg|895", "Salt Iodised 1 kg|250", "Black Pepper 100 g|795",
        "Cardamom Whole 100 g|2495", "Saffron 1 g|1995", "Za'atar Mix 250 g|1195",
        "Honey Sidr 500 g|8995", "Baharat Spice Mix 100 g|695",
    )),
    "snacks-sweets": ("Snacks & Sweets", (
        "Potato Chips Salted 150 g|750", "Chocolate Bar Milk 100 g|695",
        "Mixed Biscuits 400 g|1095", "Wafer Rolls 250 g|895", "Popcorn Microwave 3 x 85 g|995",
        "Baklava Assorted 500 g|3995", "Kunafa Frozen 500 g|1895", "Gummy Bears 200 g|795",
        "Chocolate Spread 400 g|1595", "Cream Crackers 300 g|650", "Dark Chocolate 70% 100 g|995",
        "Pretzels 200 g|895", "Halawa Plain 450 g|1295", "Rice Cakes 130 g|795",
    )),
    "beverages": ("Beverages", (
        "Mineral Water 12 x 500 ml|795", "Mineral Water 4 Gallon|1400", "Orange Juice 1.75 L|1195",
        "Mango Nectar 1 L|650", "Cola 6 x 330 ml|1295", "Lemon Mint Drink 1 L|795",
        "Arabic Coffee Ground 250 g|2495", "Instant Coffee 200 g|3295", "Black Tea 100 Bags|1495",
        "Green Tea 50 Bags|1195", "Energy Drink 250 ml|795", "Sparkling Water 6 x 330 ml|1095",
        "Vimto Cordial 710 ml|1150", "Coconut Water 1 L|1295",
    )),
    "frozen": ("Frozen Foods", (
        "Frozen Mixed Vegetables 900 g|995", "Frozen Peas 900 g|895", "French Fries 2.5 kg|1995",
        "Frozen Samosas 20 pcs|1595", "Frozen Spring Rolls 20 pcs|1495",
        "Vanilla Ice Cream 2 L|1995",
        "Frozen Okra 400 g|650", "Frozen Molokhia 400 g|650", "Frozen Pizza Margherita|1795",
        "Frozen Kibbeh 12 pcs|2295", "Frozen Berries 500 g|1995", "Frozen Sweetcorn 900 g|895",
        "Ice Cream Cones 6 pcs|1895", "Frozen Cheese Sambousek 12 pcs|1595",
    )),
    "household": ("Household & Cleaning", (
        "Laundry Detergent 3 kg|3495", "Dishwashing Liquid 1 L|895", "Fabric Softener 3 L|1995",
        "Kitchen Towels 4 Rolls|1295", "Toilet Paper 12 Rolls|2495", "Facial Tissues 5 x 200|1595",
        "Garbage Bags 30 pcs|995", "Floor Cleaner 1.8 L|1395", "Glass Cleaner 750 ml|995",
        "Aluminium Foil 30 m|1195", "Cling Film 60 m|995", "Bleach 2 L|795",
        "Air Freshener 300 ml|1095", "Bakhoor Incense 12 pcs|2995",
    )),
    "personal-care": ("Personal Care", (
        "Shampoo 400 ml|1895", "Conditioner 400 ml|1895", "Body Wash 500 ml|1595",
        "Toothpaste 100 ml|895", "Toothbrush Medium 2 pcs|1095", "Deodorant Spray 150 ml|1495",
        "Hand Soap 500 ml|895", "Shaving Foam 200 ml|1295", "Razors Disposable 5 pcs|1495",
        "Sunscreen SPF 50 200 ml|4995", "Oud Perfume Oil 12 ml|7995",
        "Moisturising Cream 200 ml|2495",
        "Cotton Pads 100 pcs|795", "Miswak Sticks 3 pcs|500",
    )),
    "baby-care": ("Baby Care", (
        "Diapers Size 3 60 pcs|6995", "Diapers Size 4 52 pcs|6995", "Baby Wipes 3 x 64|2495",
        "Infant Formula Stage 1 900 g|10995", "Infant Formula Stage 2 900 g|10995",
        "Baby Cereal Rice 250 g|1895", "Baby Fruit Puree 4 x 90 g|1795", "Baby Shampoo 300 ml|1595",
        "Baby Lotion 300 ml|1695", "Feeding Bottle 250 ml|2995", "Baby Powder 200 g|995",
        "Nappy Rash Cream 100 g|2295", "Teething Biscuits 120 g|1195", "Swim Diapers 12 pcs|3295",
    )),
    "dates-nuts": ("Dates & Nuts", (
        "Medjool Dates 1 kg|5995", "Khalas Dates 1 kg|2495", "Sukkari Dates 1 kg|3495",
        "Ajwa Dates 500 g|4995", "Stuffed Dates Almond 400 g|3995", "Pistachios Roasted 500 g|4495",
        "Cashews Raw 500 g|3995", "Almonds Raw 500 g|3295", "Mixed Nuts Salted 500 g|3795",
        "Walnuts Halves 250 g|2495", "Dried Apricots 500 g|2295", "Sunflower Seeds 300 g|895",
        "Peanuts Salted 400 g|995", "Figs Dried 400 g|2495",
    )),
    "tobacco": ("Tobacco", (
        "Cigarettes Red 20s|2300", "Cigarettes Blue 20s|2300", "Cigarettes Menthol 20s|2300",
        "Cigarettes Slims 20s|2400", "Cigarettes Red Carton 200s|23000",
        "Cigarettes Blue Carton 200s|23000", "Shisha Tobacco Double Apple 250 g|3500",
        "Shisha Tobacco Mint 250 g|3500", "Shisha Charcoal 1 kg|1500", "Cigars Mini 10 pcs|4500",
        "Rolling Tobacco 30 g|3000", "Rolling Papers|500", "Lighter Disposable|300",
        "Medwakh Tobacco 50 g|2500",
    )),
}

EXCLUDED_CATEGORY = "tobacco"  # earns no points (programme terms)

# (native script, latin transliteration for e-mail addresses)
Name = tuple[str, str]

FIRST_NAMES: dict[str, dict[str, tuple[Name, ...]]] = {
    "ar": {
        "female": (
            ("فاطمة", "fatima"), ("مريم", "maryam"), ("عائشة", "aisha"), ("نور", "noor"),
            ("ليلى", "layla"), ("سارة", "sara"), ("هند", "hind"), ("ريم", "reem"),
            ("شيخة", "shaikha"), ("آمنة", "amna"), ("لطيفة", "latifa"), ("دانة", "dana"),
            ("هيا", "haya"), ("منى", "mona"), ("رنا", "rana"),
        ),
        "male": (
            ("محمد", "mohammed"), ("أحمد", "ahmed"), ("علي", "ali"), ("عمر", "omar"),
            ("خالد", "khalid"), ("سعيد", "saeed"), ("راشد", "rashid"), ("حمدان", "hamdan"),
            ("يوسف", "yousef"), ("عبدالله", "abdullah"), ("سلطان", "sultan"), ("ماجد", "majid"),
            ("فيصل", "faisal"), ("حسن", "hassan"), ("طارق", "tariq"),
        ),
    },
    "fa": {
        "female": (
            ("مریم", "maryam"), ("زهرا", "zahra"), ("فاطمه", "fatemeh"), ("نگار", "negar"),
            ("شیرین", "shirin"), ("پریسا", "parisa"), ("لیلا", "leila"), ("سارا", "sara"),
            ("مهسا", "mahsa"), ("نازنین", "nazanin"), ("آزاده", "azadeh"), ("رویا", "roya"),
        ),
        "male": (
            ("علی", "ali"), ("رضا", "reza"), ("محمد", "mohammad"), ("حسین", "hossein"),
            ("امیر", "amir"), ("مهدی", "mehdi"), ("بهرام", "bahram"), ("کوروش", "kourosh"),
            ("داریوش", "dariush"), ("سعید", "saeed"), ("مجید", "majid"), ("فرهاد", "farhad"),
        ),
    },
    "en": {
        "female": (
            ("Emily", "emily"), ("Sarah", "sarah"), ("Priya", "priya"), ("Anjali", "anjali"),
            ("Maria", "maria"), ("Grace", "grace"), ("Olivia", "olivia"), ("Fatima", "fatima"),
            ("Aisha", "aisha"), ("Chloe", "chloe"), ("Jessica", "jessica"), ("Ana", "ana"),
            ("Divya", "divya"), ("Hannah", "hannah"),
        ),
        "male": (
            ("James", "james"), ("David", "david"), ("Rahul", "rahul"), ("Arjun", "arjun"),
            ("Mohammed", "mohammed"), ("Omar", "omar"), ("John", "john"), ("Michael", "michael"),
            ("Daniel", "daniel"), ("Jose", "jose"), ("Mark", "mark"), ("Ravi", "ravi"),
            ("Thomas", "thomas"), ("Bilal", "bilal"),
        ),
    },
}

FAMILY_NAMES: dict[str, tuple[Name, ...]] = {
    "ar": (
        ("المنصوري", "almansoori"), ("الكعبي", "alkaabi"), ("الشامسي", "alshamsi"),
        ("النعيمي", "alnuaimi"), ("المهيري", "almheiri"), ("الظاهري", "aldhaheri"),
        ("حداد", "haddad"), ("الحسيني", "alhusseini"), ("خوري", "khoury"), ("المصري", "almasri"),
        ("العلي", "alali"), ("السويدي", "alsuwaidi"), ("الهاشمي", "alhashimi"),
        ("البلوشي", "albalushi"), ("عبدالرحمن", "abdulrahman"),
    ),
    "fa": (
        ("رضایی", "rezaei"), ("محمدی", "mohammadi"), ("حسینی", "hosseini"), ("احمدی", "ahmadi"),
        ("کریمی", "karimi"), ("موسوی", "mousavi"), ("جعفری", "jafari"), ("صادقی", "sadeghi"),
        ("تهرانی", "tehrani"), ("شیرازی", "shirazi"), ("اصفهانی", "esfahani"),
        ("نوروزی", "norouzi"), ("کاظمی", "kazemi"), ("قاسمی", "ghasemi"),
    ),
    "en": (
        ("Smith", "smith"), ("Carter", "carter"), ("Sharma", "sharma"), ("Patel", "patel"),
        ("Nair", "nair"), ("Khan", "khan"), ("Santos", "santos"), ("Reyes", "reyes"),
        ("Cruz", "cruz"), ("Williams", "williams"), ("O'Brien", "obrien"),
        ("Fernandes", "fernandes"), ("Menon", "menon"), ("Al Mansouri", "almansouri"),
        ("Haddad", "haddad"), ("Siddiqui", "siddiqui"), ("Kapoor", "kapoor"), ("Murphy", "murphy"),
    ),
}

# How many members speak each language, relative to the others.
LANGUAGE_SHARE = {"ar": 40, "fa": 20, "en": 40}

# UAE mobile network codes (after +971); every number built from them is valid E.164.
MOBILE_PREFIXES = ("50", "52", "54", "55", "56", "58")
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
CONSENT_TEXT_VERSION = "2026-01"


@dataclass(frozen=True)
class Habit:
    """A way of shopping: how often, how much, and what.  Members vary around their habit."""

    name: str
    share: int  # how many members shop this way, relative to the others
    visits_per_week: float
    lines: tuple[int, int]  # distinct products per basket, low and high
    categories: tuple[str, ...]  # where favourites are drawn from, most likely first
    hours: tuple[int, int]  # local shopping hours, earliest and latest


HABITS: tuple[Habit, ...] = (
    Habit("family_weekly", 30, 1.1, (10, 22),
          ("meat-poultry", "dairy-eggs", "fresh-produce", "rice-grains", "household",
           "baby-care", "bakery", "pantry"), (10, 21)),
    Habit("young_professional", 22, 2.2, (2, 6),
          ("beverages", "snacks-sweets", "bakery", "frozen", "dairy-eggs", "personal-care"),
          (18, 23)),
    Habit("health_conscious", 18, 1.5, (5, 10),
          ("fresh-produce", "fish-seafood", "dairy-eggs", "dates-nuts", "rice-grains"), (7, 12)),
    Habit("bulk_monthly", 8, 0.3, (20, 34),
          ("rice-grains", "pantry", "household", "beverages", "frozen", "personal-care"), (9, 20)),
    Habit("occasional", 12, 0.35, (3, 8),
          ("snacks-sweets", "beverages", "dates-nuts", "bakery", "personal-care"), (11, 22)),
    Habit("convenience_smoker", 10, 2.6, (1, 4),
          ("tobacco", "beverages", "snacks-sweets", "bakery"), (6, 23)),
)
