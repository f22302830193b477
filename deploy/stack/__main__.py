import sys

from deploy.stack.runner import main

sys.exit(main(sys.argv[1:]))
