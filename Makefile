# The two commands of the README, plus a few conveniences.
#   make run    install what is missing, build, run the main job
#   make test   install what is missing, build with sanitizers, run every test under CTest
.PHONY: all deps build run test bench clean

JOBS ?= 2
BUILD ?= build
TEST_BUILD ?= build-test

all: build

deps:
	./scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF
	cmake --build $(BUILD) -j$(JOBS)

run: build
	./scripts/main-job.sh $(BUILD)

test: deps
	cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DNL_SANITIZE=ON
	cmake --build $(TEST_BUILD) -j$(JOBS)
	cd $(TEST_BUILD) && ctest --output-on-failure -j$(JOBS)

bench: build
	./bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(TEST_BUILD)
