"""The analysts' local workspace (`tipline console`): inbox, report pages, triage, insights, map, export.

It runs on an analyst's own machine, bound to 127.0.0.1: decrypted reports exist only in this
process and in a local cache sealed to the analyst's own key. It knows nothing of the service
(no bot, adapters, flows or workers): the labels of answers and the boundary data are handed in.
"""
