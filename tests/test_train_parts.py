"""Training's small parts, in process: the throughput meter."""
from src.train.meter import ThroughputMeter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_meter_rate_eta_and_the_share_of_time_spent_waiting_for_data():
    clock = FakeClock()
    meter = ThroughputMeter(images_per_step=32, ranks=2, clock=clock)

    def slow_batches():
        for i in range(3):
            clock.now += 0.5          # the input pipeline takes 0.5 s per batch
            yield i

    for _ in meter.timed(slow_batches()):
        clock.now += 1.5              # the step computes for 1.5 s
        meter.step()
    assert meter.elapsed() == 6.0
    assert meter.rate() == 3 * 32 * 2 / 6.0                # images of both ranks per second
    assert meter.data_wait() == 1.5 / 6.0
    assert meter.eta(10) == 10 * 32 / (3 * 32 / 6.0)       # 10 more steps at this rank's rate
    meter.restart()
    assert meter.images == 0 and meter.waited == 0.0 and meter.run_images == 96
