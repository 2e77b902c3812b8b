# Thin aliases for ./dev.sh (which works on machines without make, too).
.PHONY: setup test lint demo bench
setup test lint demo bench:
	./dev.sh $@
