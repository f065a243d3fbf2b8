"""Where codes may go unless configured otherwise, without loading phonenumbers: config.py
reads this default in every function, and only the functions that send codes load
phonenumbers (docs/performance.md)."""

from __future__ import annotations

# ISO 3166 alpha-2, as phonenumbers names regions (+1 876 is JM, not US; +44 7911 is GG,
# not GB). ALLOWED_COUNTRIES replaces it.
DEFAULT_ALLOWED_COUNTRIES = frozenset(
    {"US", "CA", "GB", "IE", "DE", "FR", "NL", "ES", "IT", "AU", "NZ"}
)

# Voice calls go to fewer countries than SMS by default: the ones where calls to mobiles
# cost cents, not dollars (CALL_ALLOWED_COUNTRIES).
DEFAULT_CALL_COUNTRIES = frozenset({"US", "CA", "GB"})

# Every region phonenumbers 9.0.42 knows (its SUPPORTED_REGIONS), so that settings
# can be checked at every cold start without loading it; tests/unit/test_phone_policy.py
# fails when the installed phonenumbers knows another set.
_KNOWN_REGIONS = """
AC AD AE AF AG AI AL AM AO AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN
BO BQ BR BS BT BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE
DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM
GN GP GQ GR GT GU GW GY HK HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE
KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH
MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ
OM PA PE PF PG PH PK PL PM PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI
SJ SK SL SM SN SO SR SS ST SV SX SY SZ TA TC TD TG TH TJ TK TL TM TN TO TR TT TV TW
TZ UA UG US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW
"""
KNOWN_REGIONS = frozenset(_KNOWN_REGIONS.split())
