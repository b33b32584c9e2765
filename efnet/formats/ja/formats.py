# The portal's date formats (efnet/formats/__init__.py says which is for what). Django's Japanese defaults
# pad table dates (2026/06/01) and run the time into the date (2026年6月1日14:05); we do neither.
DATE_FORMAT = "Y年n月j日"
SHORT_DATE_FORMAT = "Y/n/j"
DATETIME_FORMAT = "Y/n/j G:i"
SHORT_DATETIME_FORMAT = "Y/n/j G:i"
TIME_FORMAT = "G:i"
YEAR_MONTH_FORMAT = "Y年n月"
MONTH_DAY_FORMAT = "n月j日"
# What forms read: ISO first (the date inputs send it, the CSV files use it), then what people type.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日"]
DATETIME_INPUT_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d"]
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
