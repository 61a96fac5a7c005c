# One style for every page (portal/formats/__init__.py): "Monday, 7 December 2026, 10:15", 24-hour clock.
DATE_FORMAT = "j F Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "l, j F Y, H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
# Not a Django name: the weekday before the date (portal/formats/__init__.py asks for it by name).
WEEKDAY_DATE_FORMAT = "l, j F Y"
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
