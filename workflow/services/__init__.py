"""Services: cases, alerts, scheduling and reports, each built from what it needs (a store
port, the calendar, the settings, the definitions), never from the whole engine."""
