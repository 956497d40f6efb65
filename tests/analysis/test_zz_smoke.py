import pytest, json
from analysis import services
pytestmark = pytest.mark.django_db
def test_smoke(voted_project):
    vp = voted_project
    vp["votes"]([[-2,-1,-1],[1,2,-1],[0,0,1],[0,0,0],[2,2,None],[-1,1,0]])
    data = services.agreement_compute(project=vp["project"])
    print(json.dumps(data, indent=1)[:6000])
    assert False
