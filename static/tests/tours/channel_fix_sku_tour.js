import { registry } from "@web/core/registry";

// Data comes from tests/test_tour.py: an order stuck on an unknown SKU.
registry.category("web_tour.tours").add("channel_connector_fix_sku_tour", {
    url: "/odoo/action-channel_connector.channel_backend_action_dashboard",
    steps: () => [
        {
            content: "Open the orders awaiting correction of the shop",
            trigger:
                ".o_kanban_record:contains('Tour Shop') button:contains('orders awaiting correction')",
            run: "click",
        },
        {
            content: "Open the exception about the unknown SKU",
            trigger: ".o_data_row:contains('TS-GREEN-S') td[name='name']",
            run: "click",
        },
        {
            content: "Map the SKU to a product",
            trigger: "button[name='action_open_map_product']",
            run: "click",
        },
        {
            content: "Look for the product",
            trigger: ".modal div[name='product_id'] input",
            run: "edit T-shirt green",
        },
        {
            content: "Pick it",
            trigger: ".o-autocomplete--dropdown-menu .dropdown-item:contains('T-shirt green')",
            run: "click",
        },
        {
            content: "Map and retry",
            trigger: ".modal button[name='action_map_and_retry']",
            run: "click",
        },
        {
            content: "The exception is resolved",
            trigger: ".o_statusbar_status button[aria-checked='true']:contains('Resolved')",
        },
        {
            content: "Open the order the retry imported",
            trigger: "div[name='sale_order_id'] a",
            run: "click",
        },
        {
            content: "The order is confirmed",
            trigger: ".o_statusbar_status button[aria-checked='true']:contains('Sales Order')",
        },
    ],
});
