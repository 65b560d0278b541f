"""DeferredRev for Slack: deferred-revenue recognition run from Slack and posted to QuickBooks Online."""
