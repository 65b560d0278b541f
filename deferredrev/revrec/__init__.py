"""The pure accounting core: money, periods, contracts, schedules, period journal entries, reports and CSV.

No I/O, no clock, no database and no floats: money is an integer count of the currency's minor units and every
division is done in integers with explicit half-up (away from zero) rounding.
"""
