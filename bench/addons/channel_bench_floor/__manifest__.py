{
    "name": "Channel Connector Benchmark Floor",
    "summary": "Benchmark only: a route that stores one row and commits",
    "version": "19.0.1.0.0",
    "category": "Hidden",
    "author": "channel_connector",
    "license": "LGPL-3",
    "depends": ["web"],
    "data": ["security/ir.model.access.csv"],
    "installable": True,
}
