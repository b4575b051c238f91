"""Settings of any attribute of a project (uploaded or calculated) that the settings page changes: its visibility."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from shared_model.models import Attribute, AttributeVisibility
from shared_model.service.crud import get_in_project

from ..deps import ProjectDep, SessionDep
from ..policies import Action, allow
from ..schemas import AttributeOut, RequestModel

router = APIRouter(prefix="/api/v1/projects/{project_id}/attributes", tags=["projects"])


class VisibilityIn(RequestModel):
    visibility: AttributeVisibility


@router.put("/{attribute_id}/visibility", response_model=AttributeOut, dependencies=[allow(Action.EDIT_PROJECT)])
def set_visibility(attribute_id: uuid.UUID, body: VisibilityIn, project: ProjectDep, session: SessionDep) -> Attribute:
    """Where the attribute is shown: everywhere (DO_NOT_HIDE), not in the data browser, not on the labeling page, or
    nowhere (HIDE). 404 for an attribute of another project."""
    attribute = get_in_project(session, Attribute, attribute_id, project.id, "attribute")
    attribute.visibility = body.visibility
    session.flush()
    return attribute
