"""Every action, block and callback id the app renders or listens for, in one place."""

from __future__ import annotations

COMMAND = "/deferredrev"

# actions
CONNECT_BUTTON = "qbo_connect"  # asks for a fresh connect link
CONNECT_LINK = "qbo_connect_link"  # a URL button; Slack still sends block_actions, which we ack
RECONNECT_BUTTON = "qbo_reconnect"  # asks for a fresh reconnect link
OPEN_MAPPINGS = "open_mappings"
OPEN_SETTINGS = "open_settings"
DISCONNECT_ASK = "disconnect_ask"
DISCONNECT_CONFIRM = "disconnect_confirm"
DISCONNECT_CANCEL = "disconnect_cancel"
OPEN_IMPORT = "open_contracts_import"
HELP_LINK = "help_link"

# modals
MAPPINGS_VIEW = "mappings_modal"
SETTINGS_VIEW = "settings_modal"
IMPORT_VIEW = "contracts_import_modal"

# mapping inputs
DEFERRED_BLOCK = "deferred_revenue_block"
DEFERRED_SELECT = "deferred_revenue_select"
REVENUE_BLOCK = "revenue_block"
REVENUE_SELECT = "revenue_select"

# settings inputs
APPROVERS_BLOCK = "approvers_block"
APPROVERS_INPUT = "approvers_input"
FOUR_EYES_BLOCK = "four_eyes_block"
FOUR_EYES_INPUT = "four_eyes_input"
ALERT_CHANNEL_BLOCK = "alert_channel_block"
ALERT_CHANNEL_INPUT = "alert_channel_input"
POSTING_MODE_BLOCK = "posting_mode_block"
POSTING_MODE_INPUT = "posting_mode_input"
CUTOVER_BLOCK = "cutover_block"
CUTOVER_INPUT = "cutover_input"
TIME_ZONE_BLOCK = "time_zone_block"
TIME_ZONE_INPUT = "time_zone_input"

# contract import inputs
IMPORT_FILE_BLOCK = "contracts_file_block"
IMPORT_FILE_INPUT = "contracts_file_input"
IMPORT_PROBLEM_BLOCK = "contracts_import_problem"

# previews and postings
PREVIEW_APPROVE = "preview_approve"
PREVIEW_REJECT = "preview_reject"
PREVIEW_REFRESH = "preview_refresh"
PREVIEW_RETRY = "preview_retry"
HISTORY_REVERSE = "history_reverse"
PREVIEW_INCLUDE_EARLIER = "preview_include_earlier"  # catch up the earlier unposted months in this period's entry
PREVIEW_EARLIER_MONTH = "preview_earlier_month"  # preview the earliest unposted month on its own
PREVIEW_SET_CUTOVER = "preview_set_cutover"  # before the first posting: earlier months count as recognised elsewhere
REJECT_VIEW = "reject_preview_modal"
REJECT_REASON_BLOCK = "reject_reason_block"
REJECT_REASON_INPUT = "reject_reason_input"
