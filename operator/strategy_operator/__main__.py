from strategy_operator.cli import main

raise SystemExit(main())
