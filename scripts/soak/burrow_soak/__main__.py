"""python3 -m burrow_soak: see main.py; knobs in settings.py."""
import sys

from .main import main

sys.exit(main())
