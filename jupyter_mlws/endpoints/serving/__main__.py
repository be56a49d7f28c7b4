import sys

from .supervisor import main

sys.exit(main(sys.argv[1:]))
