"""The linear strategy through Mitogen (the `mitogen` package pinned in requirements.txt): one persistent Python
interpreter a host, which runs every module of the run, instead of one `docker exec`/SSH command, one interpreter
and one module upload a task. Set as the default strategy in ansible.cfg and in molecule's config.

Plays that run on the controller alone (`hosts: localhost`: molecule's create and destroy, our test fixtures)
keep Ansible's own linear strategy: under Mitogen, molecule's destroy never saw its async docker jobs finish (its
wait loop ran through its 300 retries; ansible-core 2.19, mitogen 0.3.54).
"""
from ansible_mitogen.plugins.strategy import mitogen_linear


class StrategyModule(mitogen_linear.StrategyModule):
    def run(self, iterator, play_context, result=0):
        if iterator._play.hosts in ("localhost", ["localhost"]):
            return mitogen_linear.Base.run(self, iterator, play_context)
        return super().run(iterator, play_context, result)
