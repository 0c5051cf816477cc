"""python -m simulator --port 8899 [--seed 1] [--variants 50]"""

import argparse
import time

from .server import ChannelSimulator


def main():
    parser = argparse.ArgumentParser(description="Shopify/WooCommerce simulator")
    parser.add_argument("--port", type=int, default=8899)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--variants", type=int, default=0, help="catalogue to seed")
    args = parser.parse_args()
    simulator = ChannelSimulator(seed=args.seed).start(port=args.port)
    if args.variants:
        simulator.state.seed_catalogue(args.variants, quantity=10)
    print(f"simulator on {simulator.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        simulator.stop()


if __name__ == "__main__":
    main()
