# "lundi 7 décembre 2026, 10 h 15" (no-break spaces around the h); numbers: 12 345 (narrow no-break space).
DATE_FORMAT = "j F Y"
TIME_FORMAT = "G\u00a0\\h\u00a0i"
DATETIME_FORMAT = "l j F Y, G\u00a0\\h\u00a0i"
SHORT_DATE_FORMAT = "d.m.Y"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"  # compact, for tables
WEEKDAY_DATE_FORMAT = "l j F Y"
THOUSAND_SEPARATOR = "\u202f"
NUMBER_GROUPING = 3
