"""Outputs: renderings of the metrics for people and systems — Excel/PowerPoint reports, Slack
alerts, the Salesforce write-back and record links."""
